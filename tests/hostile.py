"""A corpus of hostile input, shared by the service, form and API tests (issue 6)."""

BAD_AMOUNTS = [
    "0",
    "-1",
    "-0.01",
    "1.001",
    "NaN",
    "Infinity",
    "-Infinity",
    "1e3",
    "1e400",
    " 12",
    "12,50",
    "",
    "1" * 17,
    "+5",
    "0x10",
    "１２",
    "12.5.1",
    "9" * 400,
    "\x00",
    "1;DROP TABLE wallets",
]
BAD_AMOUNT_VALUES = [12.5, 12, True, None, [], {}, {"$gt": 0}]  # JSON values that are not strings

BAD_IDS = [-1, 0, 2**63, 10**30, "abc", "1.5", "1e3", "", None, True, [], "１"]

BAD_KEYS = ["", "k" * 10_000, "a\x00b", "a\nb", "tab\there", "\x7f", "naïve-ünicode", "😀"]

# Invisible controls, refused: bidi overrides can disguise a name ("Trojan Source").
CONTROL_NAMES = ["a\x00b", "tab\tname", "line\nbreak", "\u202eevil\u202c", "zero\u200bwidth"]

# Stored verbatim (they are legitimate names), rendered escaped.
HOSTILE_NAMES = [
    '<script>alert("x")</script>',
    "<img src=x onerror=alert(1)>",
    "Robert'); DROP TABLE wallets;--",
    '=HYPERLINK("http://evil.example")',
    "😀💸 emoji owner",
    "שלום עולם مرحبا بالعالم",  # right-to-left text
    "{{ 7*7 }} ${7*7}",
]
