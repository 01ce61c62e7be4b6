"""Request and response schemas: they validate requests and generate /openapi.json."""

from __future__ import annotations

import copy
import functools
import re
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator, model_validator

MAX_TEXT_CHARS = 20_000  # the model reads the first 3,000 (triage.engine.text.MAX_CHARS)
MAX_TITLE_CHARS = 200

Channel = Literal["web", "window", "phone", "app"]
EventType = Literal["dispatched", "accepted", "replied", "closed"]
Status = Literal["received", "dispatched", "accepted", "replied", "closed"]


def dated_only(value: Any) -> Any:
    """Query dates as written dates: pydantic would read a bare number as seconds since 1970,
    which the spec (date / date-time) does not allow."""
    if isinstance(value, str) and not re.match(r"\d{4}-\d{2}-\d{2}", value):
        raise ValueError("must be a date such as 2026-11-01 (or 2026-11-01T00:00:00+08:00)")
    return value


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


def example(item: dict[str, Any], strict: bool = True) -> ConfigDict:
    """A model's config with an example for /openapi.json (tests/test_openapi.py validates it).
    `example`, not `examples`: flask-openapi3 keeps only the former in the components."""
    config = ConfigDict(json_schema_extra={"example": item})
    if strict:
        config["extra"] = "forbid"
    return config


TEXT = "食品经营许可证现场核查约了两周还没人来，窗口电话也打不通"
CODE = "V5H0H-WAJBZ-FS703"
LABELS = {"category": "food_license", "department": "market_regulation", "kind": "complaint"}


# A character that is not white space to JSON Schema (ECMAScript \s) nor to Python
# (str.isspace); spelled out, because the two \s differ, and /openapi.json documents it.
VISIBLE = r"[^\t\n\v\f\r\x1c-\x1f \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\ufeff]"
_VISIBLE = re.compile(VISIBLE)


def _not_blank(value: str) -> str:
    if not _VISIBLE.search(value):
        raise ValueError("must not be empty or only white space")
    return value


class TriageIn(Strict):
    model_config = example({"text": TEXT, "title": "食品经营许可"})

    text: Annotated[str, StringConstraints(max_length=MAX_TEXT_CHARS)] = Field(
        description="The message, as the person wrote it.",
        json_schema_extra={"pattern": VISIBLE},  # documents _not_blank, which gives the message
    )
    title: Annotated[str, StringConstraints(max_length=MAX_TITLE_CHARS)] | None = None

    _text = field_validator("text")(_not_blank)


class BatchItem(TriageIn):
    model_config = example({"id": "m-1", "text": TEXT})

    id: Annotated[str, StringConstraints(min_length=1, max_length=100)]


class BatchIn(Strict):
    model_config = example(
        {"items": [{"id": "m-1", "text": TEXT}, {"id": "m-2", "text": "社保卡丢了怎么补办"}]}
    )

    items: list[BatchItem] = Field(min_length=1, description="At most TRIAGE_BATCH_LIMIT items.")


class Contact(Strict):
    name: Annotated[str, StringConstraints(max_length=100)] | None = None
    phone: Annotated[str, StringConstraints(max_length=40)] | None = None
    email: Annotated[str, StringConstraints(max_length=200)] | None = None


class TicketIn(TriageIn):
    model_config = example(
        {"text": TEXT, "channel": "phone", "contact": {"name": "王女士", "phone": "13800000000"}}
    )

    channel: Channel = "web"
    contact: Contact | None = None


class IntakeHeaders(BaseModel):
    idempotency_key: str | None = Field(
        None,
        alias="Idempotency-Key",
        max_length=200,
        description="A random value (a UUID) chosen by the client for this submission. Sent "
        "again with the same body within 24 hours, the answer is the first ticket (same code, "
        "201, header Idempotent-Replayed: true), not a new one; with another body, 409. Kept "
        "per API key; surrounding white space is ignored, and an empty value is no key.",
    )

    @classmethod
    def model_json_schema(cls, *args: Any, **kwargs: Any) -> dict[str, Any]:
        # flask_openapi3 builds a header model's JSON schema on every request to read the
        # header names from it: 2-4 ms of each intake. Built once; a copy, as callers edit it.
        return copy.deepcopy(_header_schema(cls, args, tuple(sorted(kwargs.items()))))


@functools.cache
def _header_schema(model: type[BaseModel], args: tuple[Any, ...], kwargs: tuple[Any, ...]) -> dict[str, Any]:
    return BaseModel.model_json_schema.__func__(model, *args, **dict(kwargs))  # type: ignore[attr-defined,no-any-return]


class CodePath(Strict):
    code: str = Field(
        description="The query code, e.g. 7KQ2M-XR4TB-9HC0P (case and dashes free). A code "
        "of the right form whose check character does not match gets 400.",
        json_schema_extra={"pattern": r"^[ -]*([0-9A-Za-z][ -]*){15}$"},
    )


class EventIn(Strict):
    model_config = example(
        {"type": "replied", "note": "已电话联系", "public_reply": "已安排本周四上午现场核查。"}
    )

    type: EventType
    note: Annotated[str, StringConstraints(max_length=5000)] | None = Field(
        None, description="Internal note, never shown to the submitter."
    )
    public_reply: Annotated[str, StringConstraints(max_length=5000)] | None = Field(
        None, description="Shown to the submitter in the public lookup; required for replied."
    )


class ListingFilters(Strict):
    """The staff listing's filters, shared by the listing and the export."""

    status: Status | None = None
    department: str | None = None
    category: str | None = None
    since: datetime | None = Field(None, description="Only tickets created at or after this time.")
    overdue: bool | None = None
    needs_review: bool | None = None

    _since = field_validator("since", mode="before")(dated_only)


class ExportQuery(ListingFilters):
    format: Literal["csv", "xlsx"] = Field(
        "csv", description="csv: UTF-8 with a byte-order mark (Excel shows Chinese); xlsx: a workbook."
    )


class TicketQuery(ListingFilters):
    page: int = Field(1, ge=1, le=100_000)  # a bigger offset overflows SQLite's integer
    per_page: int | None = Field(None, ge=1, le=200)

    @model_validator(mode="before")
    @classmethod
    def _cursor_is_read_by_the_route(cls, data: Any) -> Any:
        # ``cursor`` (a next_cursor) is read and checked in the route, and left out of the
        # published schema, where it changed the fuzz test's derandomized cases.
        if isinstance(data, dict) and "cursor" in data:
            return {k: v for k, v in data.items() if k != "cursor"}
        return data


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


def _head(
    label: str, name: str, confidence: float, other: str, other_name: str, reasons: list[str]
) -> dict[str, Any]:
    best = {"label": label, "name": name, "confidence": confidence}
    runner_up = {"label": other, "name": other_name, "confidence": round(1 - confidence, 4)}
    return {
        **best,
        "alternatives": [runner_up],
        "candidates": [best],
        "reasons": reasons,
        "needs_review": False,
    }


PREDICTION = {
    "category": _head("food_license", "食品经营许可", 0.9617, "company_change", "企业变更登记", ["现场核查"]),
    "department": _head(
        "market_regulation", "区市场监管局", 0.9754, "service_center", "区行政服务中心", ["食品"]
    ),
    "kind": _head("complaint", "投诉", 0.9787, "consultation", "咨询", ["打不通"]),
    "needs_review": False,
    "model_version": "20261205-042732-abfb",
}


class PredictionOut(BaseModel):
    """The prediction: an entry per head of the active model, named by the head (the default
    model: category, department, kind; a centre's model: the heads of its own data), besides
    needs_review and model_version."""

    model_config = example(PREDICTION, strict=False) | ConfigDict(extra="allow")
    __pydantic_extra__: dict[str, HeadOut] = Field(init=False)

    category: HeadOut | None = Field(None, description="What it is about (absent: no such head).")
    department: HeadOut | None = Field(None, description="Who handles it (absent: no such head).")
    needs_review: bool
    model_version: str | None


class BatchOut(BaseModel):
    model_config = example({"items": [{"id": "m-1", **PREDICTION}]}, strict=False)

    items: list[dict[str, Any]] = Field(description="{id, ...prediction} in request order.")


class TipOut(BaseModel):
    id: str
    title: str
    answer: str
    materials: list[str]
    department: dict[str, str]
    valid_until: str | None
    score: float


DEPARTMENT = {"id": "market_regulation", "name": "区市场监管局"}


class TicketCreated(BaseModel):
    model_config = example(
        {
            "code": CODE,
            "status": "received",
            "routing": PREDICTION,
            "tips": [
                {
                    "id": "food_license-02",
                    "title": "食品经营许可申请流程与现场核查",
                    "answer": "需要现场核查的，受理后由核查人员电话与您预约核查时间……",
                    "materials": ["食品经营许可申请书"],
                    "department": DEPARTMENT,
                    "valid_until": None,
                    "score": 0.2767,
                }
            ],
            "due_at": "2026-12-18T15:59:59+00:00",
            "lookup_url": f"/v1/tickets/{CODE}",
            "linked": False,
        },
        strict=False,
    )

    code: str
    status: Status
    routing: PredictionOut
    tips: list[TipOut]
    due_at: datetime
    lookup_url: str
    linked: bool = Field(
        description="Linked to a recent open ticket with nearly the same text (which one is shown "
        "to staff only: its query code is never given to the submitter)."
    )


class PublicEvent(BaseModel):
    status: str
    at: datetime
    public_reply: str | None = None


class PublicTicket(BaseModel):
    model_config = example(
        {
            "code": CODE,
            "status": "replied",
            "submitted_at": "2026-12-05T04:30:34+00:00",
            "due_at": "2026-12-18T15:59:59+00:00",
            "department": DEPARTMENT,
            "history": [
                {"status": "received", "at": "2026-12-05T04:30:34+00:00", "public_reply": None},
                {
                    "status": "replied",
                    "at": "2026-12-07T09:12:00+00:00",
                    "public_reply": "已安排本周四上午现场核查。",
                },
            ],
        },
        strict=False,
    )

    code: str
    status: Status
    submitted_at: datetime
    due_at: datetime
    department: dict[str, str | None] = Field(
        description="id and name; id null when the ticket's model has no department head."
    )
    history: list[PublicEvent]


class Health(BaseModel):
    model_config = example({"status": "ok"}, strict=False)

    status: str


class Ready(BaseModel):
    model_config = example(
        {
            "status": "ready",
            "model_version": "20261205-042732-abfb",
            "checks": {"model": True, "database": True},
        },
        strict=False,
    )

    status: str
    model_version: str | None
    checks: dict[str, bool]


class ModelCard(BaseModel):
    """The model folder's card.json (see the README); more fields than these."""

    version: str
    heads: dict[str, Any]


class Cluster(BaseModel):
    id: int = Field(description="The id of the cluster's first ticket.")
    size: int = Field(description="Tickets in the cluster, that one included.")


class TicketSummary(BaseModel):
    """A ticket in a listing; each head's label also sits at the top level under the head's
    name (the default model: category, department, kind)."""

    model_config = ConfigDict(extra="allow")
    __pydantic_extra__: dict[str, Any] = Field(init=False)

    code: str
    created_at: datetime
    channel: str
    status: Status
    category: str | None = Field(description="null when the ticket's model has no category head.")
    department: str | None = Field(description="null when the ticket's model has no department head.")
    labels: dict[str, str] = Field(description="Every head's label: head -> label.")
    needs_review: bool
    confidence: float
    due_at: datetime
    overdue: bool
    excerpt: str = Field(description="The start of the masked text.")
    cluster: Cluster | None = Field(None, description="Its repeat complaints, if any were linked.")


class TicketList(BaseModel):
    items: list[TicketSummary]
    page: int
    per_page: int
    total: int
    total_exact: bool = Field(description="False: over 10,000 matches, total is PostgreSQL's estimate.")
    next_cursor: str | None = Field(description="Pass as cursor for the next page; null on the last.")


class TicketFull(TicketSummary):
    title: str | None
    text: str
    text_masked: str
    contact: dict[str, str | None]
    prediction: dict[str, Any]
    model_version: str | None
    closed_at: datetime | None
    repeat_of: str | None = Field(None, description="Query code of the earlier ticket this one repeats.")
    events: list[dict[str, Any]]


class Problem(BaseModel):
    type: str
    title: str
    status: int
    detail: str
    errors: list[dict[str, str]] | None = None


class QueueItem(TicketSummary):
    review_reason: Literal["returned_twice", "returned", "uncertain", "quality_check"] = Field(
        description="Why it waits for a person; the queue is ordered by this, in this order."
    )
    quality_check: bool = Field(description="A confident ticket sampled at random to measure accuracy.")
    uncertain_heads: list[str] = Field(description="The heads whose confidence is below their threshold.")
    margin: float = Field(
        description="Smallest top-two confidence gap of the uncertain heads (of all heads when none "
        "is); within a review reason, smaller comes first."
    )
    returns: int = Field(ge=0, description="Times a department sent it back (退单).")


class ReviewQueue(BaseModel):
    items: list[QueueItem]


HeadName = Annotated[str, StringConstraints(min_length=1, max_length=64)]
Label = Annotated[str, StringConstraints(min_length=1, max_length=64)]


class QueueQuery(Strict):
    head: HeadName | None = Field(
        None, description="Only tickets this head is unsure of: a head of the active model."
    )
    department: str | None = None
    limit: int = Field(50, ge=1, le=500)


class CorrectionIn(BaseModel):
    """The verified label of any head of the active model, by the head's name (the default
    model: category, department, kind); a head left out keeps its label. A head the model
    does not have is a 400 naming it."""

    model_config = ConfigDict(
        json_schema_extra={"example": {"department": "market_regulation", "note": "食品许可归市场监管"}},
        extra="allow",
    )
    __pydantic_extra__: dict[str, Label | None] = Field(init=False)

    category: Label | None = None
    department: Label | None = None
    note: Annotated[str, StringConstraints(max_length=5000)] | None = None
    new_label: bool = Field(False, description="Allow a label the active model does not know yet.")


class ReturnIn(Strict):
    model_config = example({"reason": "不属于本部门职责", "suggested_department": "service_center"})

    reason: Annotated[str, StringConstraints(min_length=1, max_length=5000)]
    suggested_department: Annotated[str, StringConstraints(min_length=1, max_length=64)] | None = None

    _reason = field_validator("reason")(_not_blank)


class HeadLabels(BaseModel):
    """head -> label for each head of the model: the two roles by name, any other head (the
    default model's kind) besides them."""

    model_config = ConfigDict(extra="allow")
    __pydantic_extra__: dict[str, str | None] = Field(init=False)

    category: str | None = None
    department: str | None = None


class Verdict(BaseModel):
    at: datetime
    by: str = Field(description="The reviewer's key: its name and prefix.")
    model_version: str | None
    predicted: dict[str, str | None] = Field(description="The model's label per head, as corrected.")
    verified: HeadLabels = Field(description="The verified label of every head of the model.")
    changed: list[str] = Field(description="The heads the reviewer changed; none: a confirmation.")
    note: str | None


class CorrectionOut(BaseModel):
    model_config = example(
        {
            "code": CODE,
            "correction": {
                "at": "2026-12-05T04:40:00+00:00",
                "by": "王审核 (e5530c07)",
                "model_version": "20261205-042732-abfb",
                "predicted": {**LABELS, "department": "service_center"},
                "verified": LABELS,
                "changed": ["department"],
                "note": "食品许可归市场监管",
            },
            "routing": LABELS,
        },
        strict=False,
    )

    code: str
    correction: Verdict
    routing: HeadLabels = Field(description="The ticket's routing now, the verdict applied.")


class ReturnOut(BaseModel):
    model_config = example(
        {
            "code": CODE,
            "returned_by": "market_regulation",
            "routed_to": "service_center",
            "returns": 1,
            "review_reason": "returned",
        },
        strict=False,
    )

    code: str
    returned_by: str = Field(description="The department that sent it back.")
    routed_to: str = Field(description="The department it went to instead.")
    returns: int = Field(ge=1, description="Times it has been sent back, this one included.")
    review_reason: Literal["returned_twice", "returned", "uncertain", "quality_check"] | None = Field(
        description="Why it now waits in the review queue."
    )
