"""Request and response schemas: they validate requests and generate /openapi.json."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

MAX_TEXT_CHARS = 20_000  # the model reads the first 3,000 (triage.text.MAX_CHARS)
MAX_TITLE_CHARS = 200

Channel = Literal["web", "window", "phone", "app"]
EventType = Literal["dispatched", "accepted", "replied", "closed"]
Status = Literal["received", "dispatched", "accepted", "replied", "closed"]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


def _not_blank(value: str) -> str:
    if not value.strip():
        raise ValueError("must not be empty or only white space")
    return value


class TriageIn(Strict):
    text: Annotated[str, StringConstraints(max_length=MAX_TEXT_CHARS)] = Field(
        description="The message, as the person wrote it."
    )
    title: Annotated[str, StringConstraints(max_length=MAX_TITLE_CHARS)] | None = None

    _text = field_validator("text")(_not_blank)


class BatchItem(TriageIn):
    id: Annotated[str, StringConstraints(min_length=1, max_length=100)]


class BatchIn(Strict):
    items: list[BatchItem] = Field(min_length=1, description="At most TRIAGE_BATCH_LIMIT items.")


class Contact(Strict):
    name: Annotated[str, StringConstraints(max_length=100)] | None = None
    phone: Annotated[str, StringConstraints(max_length=40)] | None = None
    email: Annotated[str, StringConstraints(max_length=200)] | None = None


class TicketIn(TriageIn):
    channel: Channel = "web"
    contact: Contact | None = None


class CodePath(Strict):
    code: str = Field(description="The query code, e.g. 7KQ2M-XR4TB-9HC0P (case and dashes free).")


class EventIn(Strict):
    type: EventType
    note: Annotated[str, StringConstraints(max_length=5000)] | None = Field(
        None, description="Internal note, never shown to the submitter."
    )
    public_reply: Annotated[str, StringConstraints(max_length=5000)] | None = Field(
        None, description="Shown to the submitter in the public lookup; required for replied."
    )


class TicketQuery(Strict):
    status: Status | None = None
    department: str | None = None
    category: str | None = None
    since: datetime | None = Field(None, description="Only tickets created at or after this time.")
    overdue: bool | None = None
    needs_review: bool | None = None
    page: int = Field(1, ge=1)
    per_page: int | None = Field(None, ge=1, le=200)


# -- responses (documentation; handlers build plain dicts of these shapes) ---------------


class Labelled(BaseModel):
    label: str
    name: str
    confidence: float


class HeadOut(Labelled):
    alternatives: list[Labelled]
    candidates: list[Labelled]
    reasons: list[str]
    needs_review: bool
    fallback: bool | None = None
    suggested: str | None = None


class PredictionOut(BaseModel):
    category: HeadOut
    department: HeadOut
    kind: HeadOut
    needs_review: bool
    model_version: str | None


class BatchOut(BaseModel):
    items: list[dict[str, Any]] = Field(description="{id, ...prediction} in request order.")


class TipOut(BaseModel):
    id: str
    title: str
    answer: str
    materials: list[str]
    department: dict[str, str]
    valid_until: str | None
    score: float


class TicketCreated(BaseModel):
    code: str
    status: Status
    routing: PredictionOut
    tips: list[TipOut]
    due_at: datetime
    lookup_url: str


class PublicEvent(BaseModel):
    status: str
    at: datetime
    public_reply: str | None = None


class PublicTicket(BaseModel):
    code: str
    status: Status
    submitted_at: datetime
    due_at: datetime
    department: dict[str, str]
    history: list[PublicEvent]


class Problem(BaseModel):
    type: str
    title: str
    status: int
    detail: str
    errors: list[dict[str, str]] | None = None
