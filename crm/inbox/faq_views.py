"""The FAQ: questions with alternative phrasings, keywords and answers in both languages, and a box to test a question (admins).

The form is checked by the REST API's own models (`FaqCreate`, `FaqUpdate`) and written with
`faq.create_faq` / `update_faq`, which bump `updated_at` so the bot's search index is rebuilt
for the next message. Alternative phrasings are typed one per line and matched each on its own,
like the question; keywords are comma-separated. The test box runs the bot's own search
(`faq.search_faq`), says what the bot does with its score (`faq.CONFIDENT`, `faq.SUGGEST`) and
which phrasing matched.
"""

from __future__ import annotations

from typing import Any

from flask import flash, redirect, render_template, request, url_for
from sqlmodel import Session

from core.db import session_scope
from crm import catalog, faq
from crm.api.faqs import FaqCreate, FaqUpdate
from crm.inbox import data
from crm.inbox.auth import current_staff, permission_required
from crm.inbox.blueprint import get_or_404, inbox
from crm.inbox.i18n import LANGUAGES, current_language, t
from crm.inbox.store_views import save_changes, validated
from crm.web import engine

FAQ_LABELS = {"question": "faq_question", "answer": "faq_answer", "question_en": "faq_question_en",
              "answer_en": "faq_answer_en", "phrasings": "faq_phrasings", "keywords": "faq_keywords",
              "category": "faq_category"}


def _typed_faq(form, editing: bool) -> dict[str, Any]:
    """The entry the form describes; empty English fields are none, phrasings one per line, keywords by commas."""
    typed = {"question": form.get("question", ""), "answer": form.get("answer", ""),
             "question_en": form.get("question_en", "").strip() or None,
             "answer_en": form.get("answer_en", "").strip() or None,
             "phrasings": [line.strip() for line in form.get("phrasings", "").splitlines() if line.strip()],
             "keywords": catalog.words(form.get("keywords", "")),
             "category": form.get("category", "").strip() or "umum"}
    if editing:
        typed["active"] = form.get("active") == "1"
    return typed


def _form_of(entry: faq.FaqEntry) -> dict[str, str]:
    """A stored entry as the form shows it."""
    return {"question": entry.question, "answer": entry.answer, "question_en": entry.question_en or "",
            "answer_en": entry.answer_en or "", "phrasings": "\n".join(entry.phrasings or []),
            "keywords": ", ".join(entry.keywords or []),
            "category": entry.category, "active": "1" if entry.active else ""}


def _update(db: Session, entry: faq.FaqEntry, changes: dict[str, Any]) -> None:
    faq.update_faq(session=db, entry=entry, changes=changes)


def _verdict(hits: list[faq.FaqHit]) -> str:
    """What the bot does with these hits: answer, ask which one is meant, or ask once more then hand over."""
    if hits and hits[0].score >= faq.CONFIDENT:
        return "answers"
    return "suggests" if hits and hits[0].score >= faq.SUGGEST else "hands_over"


def _faq_page(editing: faq.FaqEntry | None = None, status: int = 200):
    question = (request.args.get("q") or "").strip()[:500]
    lang = request.args.get("lang") if request.args.get("lang") in LANGUAGES else current_language()
    with Session(engine()) as db:
        hits = faq.search_faq(session=db, text=question, lang=lang, limit=3) if question else []
        if editing is not None:
            editing = db.get(faq.FaqEntry, editing.id)
        form = request.form if status != 200 else (_form_of(editing) if editing else {"category": "umum"})
        return render_template("inbox/faqs.html", rows=faq.list_faqs(session=db), editing=editing, form=form,
                               question=question, lang=lang, hits=hits, verdict=_verdict(hits) if question else None,
                               confident_pct=round(faq.CONFIDENT * 100), suggest_pct=round(faq.SUGGEST * 100),
                               answer_text=faq.answer_text), status


@inbox.route("/faqs", methods=["GET", "POST"])
@permission_required("stores.manage")
def faq_list():
    """The entries by category, the test box (?q=) and the form that adds an entry."""
    if request.method == "GET":
        return _faq_page()
    try:
        fields = validated(FaqCreate, _typed_faq(request.form, editing=False), FAQ_LABELS)
        with session_scope(engine()) as db:
            entry = faq.create_faq(session=db, **fields)
            data.audit(session=db, staff=current_staff(), action="faq.add", target_type="faq", target_id=entry.id,
                       details={"question": entry.question})
    except ValueError as exc:
        flash(str(exc), "error")
        return _faq_page(status=400)
    flash(t("faq_added"), "info")
    return redirect(url_for("inbox.faq_list"), 303)


@inbox.route("/faqs/<int:faq_id>", methods=["GET", "POST"])
@permission_required("stores.manage")
def faq_edit(faq_id: int):
    """One entry's form."""
    with Session(engine()) as db:
        entry = get_or_404(db, faq.FaqEntry, faq_id)
    if request.method == "GET":
        return _faq_page(entry)
    try:
        changes = validated(FaqUpdate, _typed_faq(request.form, editing=True), FAQ_LABELS)
        save_changes(faq.FaqEntry, faq_id, changes, _update, "faq.update")
    except ValueError as exc:
        flash(str(exc), "error")
        return _faq_page(entry, status=400)
    flash(t("faq_saved"), "info")
    return redirect(url_for("inbox.faq_list"), 303)


@inbox.post("/faqs/<int:faq_id>/deactivate")
@permission_required("stores.manage")
def faq_deactivate(faq_id: int):
    """Stop the bot answering with an entry (kept, so the form can turn it on again)."""
    save_changes(faq.FaqEntry, faq_id, {"active": False}, _update, "faq.deactivate")
    flash(t("faq_deactivated"), "info")
    return redirect(url_for("inbox.faq_list"), 303)
