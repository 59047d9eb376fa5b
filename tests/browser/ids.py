"""No page may hold an id twice: a label, aria-describedby or htmx target would point at the wrong one."""

from collections import Counter
from html.parser import HTMLParser

# Runs in the page on every load and after every htmx swap (boosted navigation included);
# reports to the test through an exposed binding.
WATCH_SCRIPT = """
(() => {
  const check = (when) => {
    const counts = new Map();
    for (const el of document.querySelectorAll("[id]")) counts.set(el.id, (counts.get(el.id) || 0) + 1);
    const dups = [...counts].filter(([, n]) => n > 1).map(([id]) => id);
    if (dups.length) window.__duplicateIds(location.pathname + location.search, when, dups);
  };
  document.addEventListener("DOMContentLoaded", () => check("load"));
  document.addEventListener("htmx:afterSettle", (e) => check("swap into #" + (e.detail.target && e.detail.target.id)));
})();
"""


class _Ids(HTMLParser):
    def __init__(self):
        super().__init__()
        self.ids = Counter()

    def handle_starttag(self, tag, attrs):
        for name, value in attrs:
            if name == "id" and value:
                self.ids[value] += 1


def duplicate_ids(html: str) -> list[str]:
    """The ids that occur more than once in `html`."""
    parser = _Ids()
    parser.feed(html)
    return sorted(i for i, n in parser.ids.items() if n > 1)


class IdGuard:
    """Watches one Playwright page: every load and swap is checked in the page (when it runs
    scripts), and `check()` reads the current DOM from Python (works with JavaScript off)."""

    def __init__(self, page):
        self.page, self.found = page, []
        page.expose_binding("__duplicateIds", lambda source, where, when, ids: self.found.append((where, when, ids)))
        page.add_init_script(WATCH_SCRIPT)

    def check(self):
        dups = duplicate_ids(self.page.content())
        assert dups == [], f"duplicate ids on {self.page.url}: {dups}"
        assert self.found == [], f"duplicate ids seen after a load or swap: {self.found}"
