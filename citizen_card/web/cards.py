"""Counter pages for cards: issue, receipt, preview, print, status changes, batch sheets.

Batch sheets are drawn by a background job (:mod:`citizen_card.services.print_jobs`);
its progress page refreshes itself (a Refresh header: no script, so the CSP stays
strict) until the sheets are ready.
"""

from __future__ import annotations

from typing import Any

from flask import (
    Blueprint,
    Response,
    abort,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import force_locale
from flask_babel import gettext as _
from markupsafe import Markup
from werkzeug.wrappers import Response as BaseResponse

from citizen_card import database, languages
from citizen_card.context import app_context
from citizen_card.extensions import db
from citizen_card.services import (
    cards,
    city,
    downloads,
    issuance,
    places,
    print_jobs,
    printing,
    registry,
)
from citizen_card.services.errors import DomainError, ValidationFailed
from citizen_card.web.common import current_staff, ok, role_required, shown_again, uploaded_file
from citizen_card.web.forms import field_errors
from verify.language import SUPPORTED

bp = Blueprint("cards", __name__)

PROGRESS_REFRESH_SECONDS = 2


def _labels() -> Any:
    return city.printed_labels(db.session, app_context().settings)


def _receipt(
    issued_card: cards.CardView, code: str, status: int = 200, language: str | None = None
) -> tuple[str, int]:
    """The receipt page; the part the resident takes home is in ``language`` (one the
    service offers, else the city's)."""
    chosen = language if language in languages.offered() else languages.city_default()
    receipt = downloads.receipt(
        issued_card.card,
        code,
        language=chosen,
        portal_url=url_for("portal.my_card", lang=chosen, _external=True),
    )
    places_line = places.card_line(app_context().settings, chosen)
    with force_locale(chosen):
        drawn = render_template("cards/_receipt_sheet.html", receipt=receipt, places=places_line)
    sheet = Markup(drawn)  # noqa: S704 -- a template's own output, escaped by Jinja
    page = render_template("cards/receipt.html", view=issued_card, receipt=receipt, sheet=sheet)
    return page, status


def _issued_receipt(issued: issuance.IssuedCard) -> tuple[str, int]:
    db.session.commit()
    view = cards.CardView(issued.card, issued.card.status)
    return _receipt(view, issued.download_code, 201, request.form.get("receipt_language"))


# ---------------------------------------------------------------------------------------
# One card


@bp.post("/residents/<public_id>/cards")
@role_required("clerk")
def issue(public_id: str) -> tuple[str, int]:
    ctx = app_context()
    resident = registry.get(db.session, public_id)
    issued = issuance.issue(
        db.session, resident, settings=ctx.settings, actor=current_staff(), now=ctx.now()
    )
    return _issued_receipt(issued)


@bp.get("/cards/<card_number>")
@role_required("clerk")
def show(card_number: str) -> str:
    view = cards.view_card(db.session, card_number, now=app_context().now())
    return render_template(
        "cards/show.html",
        view=view,
        revoke_reasons=issuance.REVOKE_REASONS,
        replace_reasons=issuance.REPLACE_REASONS,
        reason_labels=issuance.REASON_LABELS,
    )


@bp.get("/cards/<card_number>/<any(front, back):face>.png")
@role_required("clerk")
def preview(card_number: str, face: str) -> Response:
    ctx = app_context()
    card = cards.get_card(db.session, card_number)
    front, back = printing.card_preview(db.session, card, settings=ctx.settings, labels=_labels())
    return Response(
        front if face == "front" else back,
        mimetype="image/png",
        headers={"Cache-Control": "no-store"},
    )


@bp.post("/cards/<card_number>/print")
@role_required("clerk")
def print_card(card_number: str) -> Response:
    ctx = app_context()
    card = cards.get_card(db.session, card_number)
    pdf = printing.card_pdf(
        db.session,
        card,
        settings=ctx.settings,
        labels=_labels(),
        actor=current_staff(),
        now=ctx.now(),
        mark_printed=True,
    )
    db.session.commit()
    return Response(
        pdf,
        mimetype="application/pdf",
        headers={"Content-Disposition": f'inline; filename="card-{card.number}.pdf"'},
    )


@bp.post("/cards/<card_number>/download-code")
@role_required("clerk")
def download_code(card_number: str) -> tuple[str, int]:
    ctx = app_context()
    card = cards.get_card(db.session, card_number)
    code = downloads.new_download_code(db.session, card, actor=current_staff(), now=ctx.now())
    db.session.commit()
    view = cards.CardView(card, cards.state_of(card, ctx.now()))
    return _receipt(view, code, language=request.form.get("receipt_language"))


@bp.post("/cards/<card_number>/receipt")
@role_required("clerk")
def receipt(card_number: str) -> tuple[str, int]:
    """The receipt drawn again in another language, with the code it was drawn with."""
    ctx = app_context()
    card = cards.get_card(db.session, card_number)
    code = downloads.code_for_receipt(card, request.form.get("code", ""), now=ctx.now())
    view = cards.CardView(card, cards.state_of(card, ctx.now()))
    return _receipt(view, code, language=request.form.get("receipt_language", ""))


def _back_to_card(card_number: str, message: str) -> BaseResponse:
    db.session.commit()
    ok(message)
    return redirect(url_for("cards.show", card_number=card_number))


# ---------------------------------------------------------------------------------------
# Actions that take a card away or make a new one: each goes through a confirmation page
# naming the card and its holder. The page posts `confirm=1`; a post without it (an old
# form, a script) gets the confirmation page instead of the action.

CONFIRMED_ACTIONS = ("revoke", "suspend", "replace", "renew")


def _confirmation(
    card_number: str, action: str, *, error: DomainError | None = None, reason: str = ""
) -> tuple[str, int]:
    ctx = app_context()
    confirm = cards.action_view(
        db.session, card_number, keys=ctx.registry_keys, actor=current_staff(), now=ctx.now()
    )
    db.session.commit()
    reasons = {"revoke": issuance.REVOKE_REASONS, "replace": issuance.REPLACE_REASONS}
    return render_template(
        "cards/confirm.html",
        action=action,
        confirm=confirm,
        view=confirm.view,
        reasons=reasons.get(action, ()),
        reason_labels=issuance.REASON_LABELS,
        at_once_reasons=issuance.REVOKE_AT_ONCE_REASONS,
        chosen=reason,
        error=error,
    ), (error.status if error is not None else 200)


def _confirmed() -> bool:
    return request.form.get("confirm") == "1"


@bp.get("/cards/<card_number>/<any(revoke, suspend, replace, renew):action>")
@role_required("clerk")
@database.writes  # an audited reading: the page names the resident
def confirm(card_number: str, action: str) -> tuple[str, int]:
    return _confirmation(card_number, action)


@bp.post("/cards/<card_number>/renew")
@role_required("clerk")
def renew(card_number: str) -> tuple[str, int]:
    if not _confirmed():
        return _confirmation(card_number, "renew")
    ctx = app_context()
    card = cards.get_card(db.session, card_number)
    issued = issuance.renew(
        db.session, card, settings=ctx.settings, actor=current_staff(), now=ctx.now()
    )
    return _issued_receipt(issued)


@bp.post("/cards/<card_number>/replace")
@role_required("clerk")
def replace(card_number: str) -> tuple[str, int]:
    reason = request.form.get("reason", "")
    if not _confirmed():
        return _confirmation(card_number, "replace", reason=reason)
    ctx = app_context()
    card = cards.get_card(db.session, card_number)
    try:
        issued = issuance.replace(
            db.session, card, reason, settings=ctx.settings, actor=current_staff(), now=ctx.now()
        )
    except ValidationFailed as exc:
        db.session.rollback()
        return _confirmation(card_number, "replace", error=exc, reason=reason)
    return _issued_receipt(issued)


@bp.post("/cards/<card_number>/suspend")
@role_required("clerk")
def suspend(card_number: str) -> BaseResponse | tuple[str, int]:
    if not _confirmed():
        return _confirmation(card_number, "suspend")
    card = cards.get_card(db.session, card_number)
    issuance.suspend(db.session, card, actor=current_staff(), now=app_context().now())
    return _back_to_card(card.number, _("The card is suspended."))


@bp.post("/cards/<card_number>/reinstate")
@role_required("clerk")
def reinstate(card_number: str) -> BaseResponse:
    card = cards.get_card(db.session, card_number)
    issuance.reinstate(db.session, card, actor=current_staff(), now=app_context().now())
    return _back_to_card(card.number, _("The card is active again."))


@bp.post("/cards/<card_number>/revoke")
@role_required("clerk")
def revoke(card_number: str) -> BaseResponse | tuple[str, int]:
    reason = request.form.get("reason", "")
    if not _confirmed():
        return _confirmation(card_number, "revoke", reason=reason)
    card = cards.get_card(db.session, card_number)
    try:
        issuance.revoke(db.session, card, reason, actor=current_staff(), now=app_context().now())
    except ValidationFailed as exc:
        db.session.rollback()
        return _confirmation(card_number, "revoke", error=exc, reason=reason)
    return _back_to_card(card.number, _("The card is revoked."))


@bp.post("/cards/<card_number>/hand-over")
@role_required("clerk")
def hand_over(card_number: str) -> BaseResponse:
    card = cards.get_card(db.session, card_number)
    issuance.hand_over(db.session, card, actor=current_staff(), now=app_context().now())
    return _back_to_card(card.number, _("The card is marked as handed over."))


@bp.get("/cards/<card_number>/state.json")
@role_required("clerk")
def state(card_number: str) -> dict[str, Any]:
    """What the card page's script polls after "Print": printed yet, handed over yet."""
    view = cards.view_card(db.session, card_number, now=app_context().now())
    return {
        "state": view.state,
        "printed": view.card.printed_at is not None,
        "handed_over": view.card.handed_over_at is not None,
    }


# ---------------------------------------------------------------------------------------
# Batch printing


def _own_job(job_id: str) -> print_jobs.PrintJob:
    job = app_context().print_jobs.job(job_id, staff_id=current_staff().id)
    if job is None:
        abort(404)
    return job


@bp.get("/cards/print")
@role_required("clerk")
@database.writes  # an audited reading: the list names the residents
def batch() -> str:
    ctx = app_context()
    queued = printing.print_queue(
        db.session, keys=ctx.registry_keys, actor=current_staff(), now=ctx.now()
    )
    db.session.commit()
    return render_template("cards/batch.html", queued=queued)


@bp.post("/cards/print")
@role_required("clerk")
def batch_start() -> BaseResponse:
    ctx = app_context()
    job_id = ctx.print_jobs.start(
        db.session,
        request.form.getlist("card"),
        staff_id=current_staff().id,
        now=ctx.now(),
    )
    return redirect(url_for("cards.batch_job", job_id=job_id))


@bp.get("/cards/print/<job_id>")
@role_required("clerk")
def batch_job(job_id: str) -> Response:
    job = _own_job(job_id)
    response = Response(render_template("cards/batch_job.html", job_id=job_id, job=job))
    if job.state == "running":
        response.headers["Refresh"] = str(PROGRESS_REFRESH_SECONDS)
    return response


@bp.get("/cards/print/<job_id>/progress")
@role_required("clerk")
def batch_progress(job_id: str) -> dict[str, Any]:
    job = _own_job(job_id)
    return {"state": job.state, "done": job.done, "total": job.total}


@bp.get("/cards/print/<job_id>/sheets.pdf")
@role_required("clerk")
@database.writes
def batch_pdf(job_id: str) -> Response:
    # One download: the file is personal data at rest and is not kept for later.
    pdf = app_context().print_jobs.take_sheets(job_id, staff_id=current_staff().id)
    if pdf is None:
        abort(404)
    return Response(
        pdf,
        mimetype="application/pdf",
        headers={"Content-Disposition": 'attachment; filename="cards.pdf"'},
    )


# ---------------------------------------------------------------------------------------
# The city's card design (admins)


@bp.route("/admin/city", methods=["GET", "POST"])
@role_required("admin")
def city_settings() -> BaseResponse | tuple[str, int] | str:
    ctx = app_context()
    if request.method == "GET":
        design = city.load(db.session, ctx.settings)
        return render_template(
            "admin/city.html", design=design, error=None, supported_languages=SUPPORTED
        )
    values = {name: request.form.get(name, "") for name in city.EDITABLE if name in request.form}
    if "label_language_first" in request.form:  # two selects, one setting ("pt,en")
        chosen = (request.form.get(f"label_language_{n}", "") for n in ("first", "second"))
        values["label_languages"] = ",".join(code for code in chosen if code)
    try:
        city.save(
            db.session,
            values,
            settings=ctx.settings,
            actor=current_staff(),
            now=ctx.now(),
            logo=uploaded_file("logo"),
            remove_logo=request.form.get("remove_logo") == "1",
        )
    except ValidationFailed as exc:
        db.session.rollback()
        shown = city.replace_values(city.load(db.session, ctx.settings), shown_again(values))
        page = render_template(
            "admin/city.html",
            design=shown,
            error=exc,
            form_errors=field_errors(exc),
            supported_languages=SUPPORTED,
        )
        return page, exc.status
    db.session.commit()
    ok(_("The card design is saved."))
    return redirect(url_for("cards.city_settings"))


@bp.get("/admin/city/<any(front, back):face>.png")
@role_required("admin")
def city_preview(face: str) -> Response:
    ctx = app_context()
    design = city.load(db.session, ctx.settings)
    front, back = city.preview(design, settings=ctx.settings, labels=_labels())
    return Response(
        front if face == "front" else back,
        mimetype="image/png",
        headers={"Cache-Control": "no-store"},
    )
