"""Finance pages: exchange rates and spreads (each change audited by ledger/rates.py)."""

from flask import flash, redirect, render_template, url_for
from flask_wtf import FlaskForm
from wtforms import SelectField, StringField
from wtforms.validators import DataRequired, Length

from ..auth.roles import operator_actor, require
from ..error_pages import form_view
from ..ledger import rates as rate_service
from ..money import MINOR_UNITS
from ..views import Views

views = Views()

PAGE = "finance/rates.html"
CURRENCIES = sorted(MINOR_UNITS, key=lambda c: (c != "USD", c))


class RateForm(FlaskForm):
    """A pair's rate (units of `quote` per 1 `base`) and its spread, the fee in `base`."""

    base = SelectField("From (base)", choices=CURRENCIES, default="USD")
    quote = SelectField("To (quote)", choices=CURRENCIES, default="EUR")
    rate = StringField(
        "Rate (units of the quote per 1 base)",
        validators=[DataRequired(), Length(max=40)],
        render_kw={"inputmode": "decimal", "autocomplete": "off"},
    )
    spread_bps = StringField(
        "Spread (basis points, charged in the base currency)",
        default="0",
        validators=[Length(max=10)],
        render_kw={"inputmode": "numeric"},
    )
    tolerance_bps = StringField(
        "Tolerance (basis points a caller's expected rate may differ; the house's applies)",
        default="0",
        validators=[Length(max=10)],
        render_kw={"inputmode": "numeric"},
    )


@views.get("/rates")
@require("read")
def rates():
    return render_template(PAGE, rates=rate_service.list_rates(), form=RateForm(formdata=None))


@views.post("/rates")
@require("rates")
def set_rate():
    form = RateForm()
    if not form.validate_on_submit():
        return render_template(PAGE, rates=rate_service.list_rates(), form=form), 422
    form_view(PAGE, errors_in=form, later=lambda: {"rates": rate_service.list_rates()})
    row = rate_service.set_rate(
        form.base.data,
        form.quote.data,
        form.rate.data,
        spread_bps=form.spread_bps.data or "0",
        tolerance_bps=form.tolerance_bps.data or "0",
        actor=operator_actor(),
    )
    flash(
        f"Rate {row['base']} → {row['quote']} saved: {row['rate']}, spread {row['spread_bps']} bps, tolerance "
        f"{row['tolerance_bps']} bps."
    )
    return redirect(url_for("finance.rates"), 303)
