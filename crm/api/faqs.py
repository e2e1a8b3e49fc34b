"""REST API for the shop's knowledge: FAQ entries (list, search, create, get, patch, deactivate)."""

from __future__ import annotations

from typing import Annotated

from flask import request
from pydantic import BaseModel, ConfigDict, Field
from sqlmodel import Session

from core.db import session_scope
from crm import faq as faq_data
from crm.api.base import (
    OPENAPI_MODELS, OPENAPI_PATHS, api, bool_arg, crud_paths, dump, enum_arg, enum_param, get_row, int_arg,
    limit_param, query_param, query_value, read_body, require_token,
)
from crm.api.catalog import Keyword, Text
from crm.schemas import PatchModel, UtcDatetime
from crm.web import engine


Phrasing = Annotated[Text, Field(max_length=500)]
PHRASINGS_HELP = "other ways customers ask the question; each is matched on its own, like the question"


class FaqCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    question: Annotated[Text, Field(max_length=500)]
    answer: Annotated[Text, Field(max_length=5000)]
    question_en: Annotated[Text, Field(max_length=500)] | None = None
    answer_en: Annotated[Text, Field(max_length=5000)] | None = None
    keywords: list[Keyword] = Field(default=[], max_length=50)
    phrasings: list[Phrasing] = Field(default=[], max_length=50, description=PHRASINGS_HELP)
    category: Annotated[Text, Field(max_length=50)] = "umum"
    active: bool = True


class FaqUpdate(PatchModel):
    NULLABLE = frozenset({"question_en", "answer_en"})

    question: Annotated[Text, Field(max_length=500)] | None = None
    answer: Annotated[Text, Field(max_length=5000)] | None = None
    question_en: Annotated[Text, Field(max_length=500)] | None = None
    answer_en: Annotated[Text, Field(max_length=5000)] | None = None
    keywords: list[Keyword] | None = Field(default=None, max_length=50)
    phrasings: list[Phrasing] | None = Field(default=None, max_length=50, description=PHRASINGS_HELP)
    category: Annotated[Text, Field(max_length=50)] | None = None
    active: bool | None = None


class FaqPublic(BaseModel):
    id: int
    question: str
    answer: str
    question_en: str | None
    answer_en: str | None
    keywords: list[str]
    phrasings: list[str] = Field(description=PHRASINGS_HELP)
    category: str
    active: bool
    score: float | None = Field(default=None, description="set when searching with ?q=: ≥ 0.5 confident, "
                                "0.25–0.5 a suggestion, below 0.25 no real match")
    created_at: UtcDatetime
    updated_at: UtcDatetime


class FaqList(BaseModel):
    items: list[FaqPublic]


def faq_public(entry: faq_data.FaqEntry, score: float | None = None) -> FaqPublic:
    """The API shape of an FAQ entry."""
    return FaqPublic(id=entry.id, question=entry.question, answer=entry.answer, question_en=entry.question_en,
                     answer_en=entry.answer_en, keywords=list(entry.keywords or []),
                     phrasings=list(entry.phrasings or []), category=entry.category,
                     active=entry.active, score=score, created_at=entry.created_at, updated_at=entry.updated_at)


@api.get("/faqs")
@require_token
def list_faqs():
    """FAQ entries by category; with ?q= the best matches for a customer's question."""
    q, active = (request.args.get("q") or "").strip(), bool_arg("active")
    lang = enum_arg("lang", ("id", "en"), "id")
    limit = int_arg("limit", 3 if q else 500, 1, 500)
    with Session(engine()) as session:
        if q:
            hits = faq_data.search_faq(session=session, text=q, lang=lang, limit=limit)
            return dump(FaqList(items=[faq_public(hit.entry, hit.score) for hit in hits]))
        rows = faq_data.list_faqs(session=session, active=active, category=query_value("category"))
        return dump(FaqList(items=[faq_public(e) for e in rows[:limit]]))


@api.post("/faqs")
@require_token
def create_faq():
    """Add an FAQ entry."""
    body = read_body(FaqCreate)
    with session_scope(engine()) as session:
        return dump(faq_public(faq_data.create_faq(session=session, **body.model_dump()))), 201


@api.get("/faqs/<int:faq_id>")
@require_token
def get_faq(faq_id: int):
    """One FAQ entry."""
    with Session(engine()) as session:
        return dump(faq_public(get_row(session, faq_data.FaqEntry, faq_id, "FAQ entry")))


@api.patch("/faqs/<int:faq_id>")
@require_token
def update_faq(faq_id: int):
    """Change an FAQ entry."""
    changes = read_body(FaqUpdate).model_dump(exclude_unset=True)
    with session_scope(engine()) as session:
        entry = get_row(session, faq_data.FaqEntry, faq_id, "FAQ entry")
        faq_data.update_faq(session=session, entry=entry, changes=changes)
        return dump(faq_public(entry))


@api.delete("/faqs/<int:faq_id>")
@require_token
def delete_faq(faq_id: int):
    """Deactivate an FAQ entry (it no longer answers customers)."""
    with session_scope(engine()) as session:
        entry = get_row(session, faq_data.FaqEntry, faq_id, "FAQ entry")
        faq_data.update_faq(session=session, entry=entry, changes={"active": False})
    return "", 204


# --- OpenAPI ------------------------------------------------------------------------------

OPENAPI_MODELS.extend([FaqCreate, FaqUpdate, FaqPublic, FaqList])
OPENAPI_PATHS.update({
    **crud_paths("faqs", "faqs", "Faq", "faq_id", [
        query_param("q"), enum_param("lang", ("id", "en")), limit_param(500), query_param("category"),
        query_param("active", "boolean")]),
})
