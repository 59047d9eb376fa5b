"""A wallet's statement as a PDF a customer can be sent, for both faces (the console's Statement
action, the API's statement.pdf): owner, period, balances, every movement, page numbers.

fpdf2: pure Python (WeasyPrint needs Pango and Cairo from the system, ReportLab is larger),
with tables that repeat their heading on each page. The text is DejaVu Sans (wallet_app/fonts,
its licence beside it), embedded: Latin, Greek, Cyrillic, Hebrew and Arabic names print as
written; CJK characters have no glyph in it (a font for them would be ~15 MB)."""

from datetime import datetime, timedelta
from pathlib import Path

from flask import Response
from fpdf import FPDF
from fpdf.fonts import FontFace

from .errors import InvalidInput
from .formatting import money as shown
from .ledger import statements

FONTS = Path(__file__).resolve().parent / "fonts"
MAX_MOVEMENTS = 10_000  # a longer period is a CSV's job: about 250 pages


class _Statement(FPDF):
    def __init__(self, title: str):
        super().__init__(orientation="P", unit="mm", format="A4")
        self.title_text = title
        self.add_font("DejaVu", "", FONTS / "DejaVuSans.ttf")
        self.add_font("DejaVu", "B", FONTS / "DejaVuSans-Bold.ttf")
        self.set_auto_page_break(auto=True, margin=18)
        self.set_title(title)
        self.set_creator("Wallet operations console")

    def footer(self):
        self.set_y(-12)
        self.set_font("DejaVu", size=8)
        self.set_text_color(110)
        self.cell(0, 5, f"{self.title_text} · page {self.page_no()} of {{nb}}", align="C")


def _day(moment: datetime) -> str:
    return f"{moment:%d %b %Y}" + ("" if moment.time() == datetime.min.time() else f" {moment:%H:%M:%S} UTC")


def period_text(period: "statements.Period") -> str:
    """[from, to) as people read it: a period ending at midnight ends on the day before."""
    end = period.end
    if end.time() == datetime.min.time():
        return f"{_day(period.start)} to {_day(end - timedelta(days=1))} inclusive"
    return f"{_day(period.start)} to {_day(end)} (not included)"


def render(wallet: dict, period: "statements.Period", totals: dict, rows) -> bytes:
    """The PDF's bytes. `totals` is statements.summary(); `rows` every movement, oldest first."""
    currency = wallet["currency"]
    money = lambda v, sign=False: shown(v, currency, sign=sign, unit=False)  # noqa: E731
    pdf = _Statement(f"Statement of wallet {wallet['id']}, {period.start:%Y-%m-%d}")
    pdf.add_page()
    pdf.set_font("DejaVu", "B", 16)
    pdf.cell(0, 9, "Statement", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("DejaVu", size=10)
    for label, value in (
        ("Account holder", wallet["owner_name"]),
        ("Wallet", f"{wallet['id']} ({currency})"),
        ("Period", period_text(period)),
    ):
        pdf.set_font("DejaVu", "B", 10)
        pdf.cell(36, 6, label)
        pdf.set_font("DejaVu", size=10)
        pdf.multi_cell(0, 6, value, new_x="LMARGIN", new_y="NEXT")
    pdf.ln(3)
    with pdf.table(
        col_widths=(1, 1, 1, 1),
        text_align=("RIGHT", "RIGHT", "RIGHT", "RIGHT"),
        headings_style=FontFace(emphasis="BOLD", fill_color=(236, 240, 244)),
        line_height=7,
    ) as table:
        table.row(("Opening balance", "Money in", "Money out", "Closing balance"))
        table.row(
            (
                money(totals["opening_balance"]),
                money(totals["total_in"]),
                money(totals["total_out"]),
                money(totals["closing_balance"]),
            )
        )
    pdf.ln(5)
    pdf.set_font("DejaVu", "B", 12)
    pdf.cell(0, 8, f"Movements ({totals['movement_count']:,})", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("DejaVu", size=8)
    with pdf.table(
        col_widths=(17, 44, 22, 17, 17),
        text_align=("LEFT", "LEFT", "LEFT", "RIGHT", "RIGHT"),
        headings_style=FontFace(emphasis="BOLD", fill_color=(236, 240, 244)),
        line_height=5,
        repeat_headings=1,
    ) as table:
        table.row(("Date (UTC)", "Description", "Reference", f"Amount ({currency})", "Balance"))
        table.row(("", "Opening balance", "", "", money(totals["opening_balance"])))
        for r in rows:
            table.row(
                (
                    f"{r.created_at:%Y-%m-%d %H:%M}",
                    statements.describe(r),
                    r.reference or "",
                    money(r.amount, sign=True),
                    money(r.balance_after),
                )
            )
        table.row(("", "Closing balance", "", "", money(totals["closing_balance"])))
    return bytes(pdf.output())


def answer(wallet: dict, period: "statements.Period") -> Response:
    """The statement's PDF as a download; a period of more than MAX_MOVEMENTS movements is
    refused (field `to`) before anything is drawn."""
    totals = statements.summary(wallet["id"], period)
    if totals["movement_count"] > MAX_MOVEMENTS:
        raise InvalidInput(
            f"This period has {totals['movement_count']:,} movements, more than a PDF statement holds "
            f"({MAX_MOVEMENTS:,}): choose a shorter period, or download the CSV.",
            field="to",
        )
    body = render(wallet, period, totals, statements.all_movements(wallet["id"], period))
    response = Response(body, mimetype="application/pdf")
    response.headers["Content-Disposition"] = f'attachment; filename="statement-{wallet["id"]}-{period.label()}.pdf"'
    response.headers["Cache-Control"] = "no-store"
    return response
