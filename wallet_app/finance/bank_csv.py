"""Reading a bank's statement (CSV) by a column layout, and the layouts saved by name."""

import csv
import io
import re
from dataclasses import dataclass, replace
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from ..errors import InvalidInput, InvalidStatement
from ..extensions import db
from ..models.bank import DATE_FORMATS, BankLayout
from ..money import MINOR_UNITS, STORAGE_PLACES
from ..services import audit, validate
from ..services.audit import Actor

MAX_LINES = 200_000  # a month of a busy account; `make bench` matches 100,000
MAX_ERRORS = 20
_AMOUNT = re.compile(r"[+-]?[0-9]{1,16}(\.[0-9]+)?")
_STRPTIME = {"YYYY-MM-DD": "%Y-%m-%d", "DD/MM/YYYY": "%d/%m/%Y", "MM/DD/YYYY": "%m/%d/%Y", "DD.MM.YYYY": "%d.%m.%Y"}
_CONTROL = re.compile(r"[\x00-\x1f\x7f]+")


@dataclass(frozen=True)
class Layout:
    """Which header names each field (None: the file has no such column) and how days are written."""

    id: str | None = "id"
    date: str = "date"
    amount: str = "amount"
    reference: str | None = "reference"
    description: str | None = "description"
    date_format: str = "YYYY-MM-DD"
    name: str | None = None  # the saved layout it came from


DEFAULT = Layout()
COLUMNS = ("id", "date", "amount", "reference", "description")


def layout_from(values: dict) -> Layout | None:
    """A layout from `<field>_column` values and `date_format` (a form, a query string), or None
    when none is given (the default, or a saved one, applies)."""
    given = {f: values.get(f"{f}_column") for f in COLUMNS if values.get(f"{f}_column")}
    fmt = values.get("date_format") or None
    if not given and fmt is None:
        return None
    if fmt is not None and fmt not in DATE_FORMATS:
        raise InvalidInput(f"Dates are written {', '.join(DATE_FORMATS)}.", field="date_format")
    mapped = {f: validate.text(given.get(f), f"{f}_column", 100) for f in COLUMNS}
    for required in ("date", "amount"):
        mapped[required] = mapped[required] or required  # unnamed: the default header
    return Layout(**mapped, date_format=fmt or "YYYY-MM-DD")


def saved(name: str, session=None) -> Layout:
    name = validate.text(name, "layout", 100, required=True)
    row = (session or db.session).execute(select(BankLayout).where(BankLayout.name == name)).scalar_one_or_none()
    if row is None:
        raise InvalidInput(f"No layout is saved as {name!r}.", field="layout")
    return Layout(
        row.id_column, row.date_column, row.amount_column, row.reference_column, row.description_column,
        row.date_format, row.name,
    )  # fmt: skip


def layouts() -> list[str]:
    return list(db.session.execute(select(BankLayout.name).order_by(BankLayout.name)).scalars())


def save(s: Session, name: str, layout: Layout, actor: Actor) -> Layout:
    """Save (or replace) the layout under `name`, audited with what it maps."""
    name = validate.text(name, "save_layout", 100, required=True)
    values = {f"{f}_column": getattr(layout, f) for f in COLUMNS} | {"date_format": layout.date_format}
    s.execute(
        insert(BankLayout)
        .values(name=name, updated_by=actor.name, **values)
        .on_conflict_do_update(
            index_elements=["name"], set_={**values, "updated_by": actor.name, "updated_at": func.now()}
        )
    )
    audit.record(s, actor, "statement.layout", "bank_layout", name, **values)
    return replace(layout, name=name)


def read(text: str, layout: Layout, currency: str) -> list[tuple]:
    """Every line as (line_no, bank_id, day, signed amount, reference, description); any line
    that cannot be read raises InvalidStatement naming it (line 1 is the header)."""
    reader = csv.reader(io.StringIO(text.removeprefix("\ufeff"), newline=""))
    errors: list[dict] = []
    try:
        header = [h.strip().lower() for h in next(reader, [])]
        where = _columns(header, layout)
        rows = []
        for record in reader:
            if not any(cell.strip() for cell in record):
                continue  # a blank line
            if len(rows) >= MAX_LINES:
                raise _refused([_error(reader.line_num, "", f"A statement has at most {MAX_LINES:,} lines.")])
            row = _row(reader.line_num, record, where, layout, currency, errors)
            if len(errors) >= MAX_ERRORS:
                break
            rows.append(row)
    except csv.Error as exc:
        errors.append(_error(reader.line_num, "", f"The CSV cannot be read ({exc})."))
    if errors:
        raise _refused(errors)
    if not rows:
        raise _refused([_error(1, "", "The statement has no lines under its header.")])
    return rows


def _columns(header: list[str], layout: Layout) -> dict[str, int]:
    where = {}
    for f in COLUMNS:
        name = getattr(layout, f)
        if name is None:
            continue
        if name.strip().lower() not in header:
            raise _refused([_error(1, f, f"The header has no column {name!r} (for {f}).")])
        where[f] = header.index(name.strip().lower())
    return where


def _row(n: int, record: list[str], where: dict, layout: Layout, currency: str, errors: list) -> tuple | None:
    cells = {}
    for f, i in where.items():
        if i >= len(record):
            errors.append(_error(n, f, f"Line {n} has {len(record)} columns; {f} is column {i + 1}."))
            return None
        cells[f] = _CONTROL.sub(" ", record[i]).strip()
    before = len(errors)
    day = _day(n, cells["date"], layout.date_format, errors)
    amount = _amount(n, cells["amount"], currency, errors)
    texts = [
        _text(n, f, cells.get(f, ""), size, errors)
        for f, size in (("id", 100), ("reference", 500), ("description", 1000))
    ]
    if len(errors) > before:
        return None
    return (n, texts[0] or None, day, amount, texts[1], texts[2])


def _day(n: int, text: str, fmt: str, errors: list) -> date | None:
    try:
        day = datetime.strptime(text, _STRPTIME[fmt]).date()
        if validate.FIRST_DAY <= day <= validate.LAST_DAY:
            return day
    except ValueError:
        pass
    errors.append(_error(n, "date", f"{text!r} is not a day written {fmt}."))
    return None


def _amount(n: int, text: str, currency: str, errors: list) -> Decimal | None:
    places = MINOR_UNITS[currency]
    if not _AMOUNT.fullmatch(text):
        errors.append(_error(n, "amount", f"{text!r} is not an amount such as -12.50 (a point, no grouping)."))
        return None
    value = Decimal(text)
    if value == 0:
        errors.append(_error(n, "amount", "An amount of zero moves nothing."))
    elif value != round(value, places) or -value.as_tuple().exponent > max(places, STORAGE_PLACES):
        errors.append(_error(n, "amount", f"{currency} amounts have at most {places} decimal places."))
    else:
        return value
    return None


def _text(n: int, f: str, text: str, size: int, errors: list) -> str:
    if len(text) > size:
        errors.append(_error(n, f, f"At most {size} characters."))
    return text


def _error(line: int, column: str, message: str) -> dict:
    where = f"Line {line}" + (f", column {column}" if column else "")
    return {
        "field": "statement",
        "line": line,
        "column": column,
        "code": "invalid_statement",
        "message": f"{where}: {message}",
    }


def _refused(errors: list[dict]) -> InvalidStatement:
    more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
    return InvalidStatement(errors[0]["message"] + more + " Nothing was imported.", field="statement", errors=errors)
