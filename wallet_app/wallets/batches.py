"""Batches in the console: upload a CSV of payouts, review it (every row checked by the
engine's dry run, totals per currency), choose the mode, post it as one batch, read and
download what became of each row; a waiting batch is approved or rejected as one."""

import csv
import io
import json

from flask import flash, redirect, url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import HiddenField, RadioField, StringField
from wtforms.validators import DataRequired, Length

from ..auth.roles import can, operator_actor, require
from ..error_pages import form_view
from ..errors import InvalidInput
from ..finance.exports import neutralise
from ..ledger import batches, queries
from ..streaming import csv_response
from ..views import Views
from .forms import KeyedForm
from .htmx import respond

views = Views()

MODES = [
    ("independent", "Independent: post every row that passes; list the others"),
    ("atomic", "All or nothing: post every row, or none if any is refused"),
]
MAX_UPLOAD = 64 * 1024  # the app's MAX_CONTENT_LENGTH: about 1,000 rows of payouts


class UploadForm(KeyedForm):
    """The CSV and the mode; the idempotency token travels on to the post."""

    file = FileField("CSV of payouts (columns from, to, amount, reference)", validators=[FileRequired()])
    mode = RadioField("Mode", choices=MODES, default="independent")


class PostForm(KeyedForm):
    """What the review shows, posted as it was reviewed: the rows that can be read."""

    items = HiddenField(validators=[DataRequired()])
    mode = HiddenField(validators=[DataRequired()])


class RejectForm(FlaskForm):
    reason = StringField("Reason", validators=[DataRequired(), Length(max=500)])


@views.get("/batches")
@require("bulk")
def batches_page():
    return respond("batches/index.html", form=UploadForm(formdata=None), recent=batches.recent())


@views.post("/batches/review")
@require("bulk")
def review_batch():
    """Step one: read the file and run it through the engine's dry run; nothing is kept."""
    form = UploadForm()
    context = {"recent": batches.recent()}
    if not form.validate_on_submit():
        return respond("batches/index.html", 422, form=form, **context)
    form_view("batches/index.html", errors_in=form, **context)
    data = form.file.data.read(MAX_UPLOAD + 1)
    if len(data) > MAX_UPLOAD:
        raise InvalidInput(f"A file of at most {MAX_UPLOAD // 1024} KB, please.", field="file")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidInput("The file is not UTF-8 text (save it as CSV, UTF-8).", field="file") from None
    rows = batches.read_csv(text)
    checked = batches.preview(rows, actor=operator_actor(), always_wait=_alone_not())
    post = PostForm(formdata=None, idempotency_key=form.idempotency_key.data, mode=form.mode.data)
    post.items.data = json.dumps([r.item for r in rows if r.item])
    return respond("batches/review.html", checked=checked, mode=form.mode.data, modes=dict(MODES), post=post)


@views.post("/batches")
@require("bulk")
def post_batch():
    """Step two: post what was reviewed as one batch; post, redirect, get to its page."""
    form = PostForm()
    if not form.validate_on_submit():
        flash("The review has expired; upload the file again.")
        return redirect(url_for(".batches_page"), 303)
    form_view("batches/index.html", status=None, form=UploadForm(formdata=None), recent=batches.recent())
    try:
        items = json.loads(form.items.data)
    except ValueError:
        raise InvalidInput("The reviewed rows could not be read; upload the file again.", field="items") from None
    result = batches.post(
        items,
        mode=form.mode.data,
        idempotency_key=form.idempotency_key.data,
        actor=operator_actor(),
        always_wait=_alone_not(),
    )
    return redirect(url_for(".batch", batch_id=result.batch["id"]), 303)


def _alone_not() -> bool:
    """Finance prepares payouts but does not move money alone (docs/DESIGN.md, "Roles"): a
    batch it posts waits for a second person, whatever its amounts."""
    return not can(current_user, "move_money")


@views.get("/batches/<id:batch_id>")
@require("read")
def batch(batch_id):
    return respond("batches/detail.html", **_detail(batch_id))


def _detail(batch_id: int) -> dict:
    """A batch's page: its rows, and for one that waits, its totals and the decision forms."""
    waiting = next(iter(batches.awaiting(batch_id=batch_id)), None)
    found = batches.get_batch(batch_id)
    return {
        "batch": found,
        "names": queries.wallet_names(w for i in found["items"] for w in (i["from_wallet_id"], i["to_wallet_id"])),
        "waiting": waiting,
        "mine": bool(waiting) and waiting["maker_scope"] == f"user:{current_user.id}",
        "reject": RejectForm(formdata=None),
        "approve": KeyedForm(formdata=None),
    }


@views.get("/batches/<id:batch_id>.csv")
@require("read")
def batch_csv(batch_id):
    """Each row's outcome, as a spreadsheet reads it (text cells that could run as formulas
    neutralised, as every export's are)."""
    found = batches.get_batch(batch_id)

    def lines():
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(
            [
                "index",
                "status",
                "kind",
                "from_wallet_id",
                "to_wallet_id",
                "amount",
                "currency",
                "reference",
                "transaction_id",
                "error_code",
                "error",
            ]
        )
        for item in found["items"]:
            tx, error = item.get("transaction") or {}, item.get("error") or {}
            writer.writerow(
                [
                    item["index"],
                    item["status"],
                    item["kind"],
                    item["from_wallet_id"] or "",
                    item["to_wallet_id"] or "",
                    item["amount"],
                    item["currency"],
                    neutralise(item["reference"]),  # the uploader's text: never a formula
                    tx.get("id", ""),
                    error.get("code", ""),
                    neutralise(error.get("detail", "")),
                ]
            )
            yield out.getvalue()
            out.seek(0)
            out.truncate()

    return csv_response(lines(), f"batch-{batch_id}.csv")


@views.post("/batches/<id:batch_id>/approve")
@require("approve")
def approve_batch(batch_id):
    """A second person posts a waiting batch as one; a refusal shows on its page."""
    batches.get_batch(batch_id)  # a batch that does not exist: 404, not its page
    form_view("batches/detail.html", status=None, later=lambda: _detail(batch_id))
    result = batches.decide(batch_id, "approve", actor=operator_actor())
    flash(f"Batch {batch_id} approved: {result.batch['status'].replace('_', ' ')}.")
    return redirect(url_for(".batch", batch_id=batch_id), 303)


@views.post("/batches/<id:batch_id>/reject")
@require("approve")
def reject_batch(batch_id):
    form = RejectForm()
    batches.get_batch(batch_id)  # a batch that does not exist: 404, not its page
    if not form.validate_on_submit():
        return respond("batches/detail.html", 422, **(_detail(batch_id) | {"reject": form}))
    form_view("batches/detail.html", status=None, later=lambda: _detail(batch_id))
    batches.decide(batch_id, "reject", actor=operator_actor(), reason=form.reason.data)
    flash(f"Batch {batch_id} rejected: nothing of it was posted.")
    return redirect(url_for(".batch", batch_id=batch_id), 303)
