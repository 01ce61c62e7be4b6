"""Query and response schemas of /v1/stats (responses document what triage.service.stats and
triage.service.hotspots return; handlers pass those dicts through)."""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from triage.web.schemas import Strict, dated_only

DURATION = re.compile(r"^([1-9][0-9]{0,3})([hdw])$")
EARLIEST, LATEST = date(1970, 1, 1), date(9000, 12, 31)


def _clamp(value: date | None) -> date | None:
    """Bring far-off dates within reach: nothing is stored before 1970 or after 9000, and
    local midnight or a baseline's start could otherwise leave Python's date range."""
    if value is None:
        return None
    day = value.date() if isinstance(value, datetime) else value
    if day < EARLIEST:
        return value.replace(year=EARLIEST.year, month=1, day=1)
    if day > LATEST:
        return value.replace(year=LATEST.year, month=12, day=31)
    return value


class SummaryQuery(Strict):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    from_: date | None = Field(None, alias="from", description="First day (local time), inclusive.")
    to: date | None = Field(None, description="Last day (local time), inclusive.")
    department: str | None = None

    _written = field_validator("from_", "to", mode="before")(dated_only)
    _reach = field_validator("from_", "to")(_clamp)


class HotspotQuery(Strict):
    window: str = Field("7d", pattern=DURATION.pattern, description="Recent period: 24h, 7d, 2w...")
    baseline: str = Field("28d", pattern=DURATION.pattern, description="Period right before it.")
    at: datetime | None = Field(None, description="End of the window (default: now).")
    department: str | None = None

    _written = field_validator("at", mode="before")(dated_only)
    _reach = field_validator("at")(_clamp)


class Share(BaseModel):
    n: int
    share: float | None


class CloseTime(BaseModel):
    n: int
    median: float | None
    p90: float | None


class Accuracy(BaseModel):
    accuracy: float | None = Field(description="Share of verified tickets whose label was kept.")
    n: int = Field(description="Verified tickets (latest verdict each).")
    ci95: list[float] | None = Field(description="95% Wilson interval.")


class Routing(BaseModel):
    auto_routed: Share
    sent_to_review: Share
    review_reasons: dict[str, int]


class Period(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    from_: str | None = Field(alias="from")
    to: str | None
    department: str | None = None


class SummaryOut(BaseModel):
    period: Period
    total: int
    counts: dict[str, dict[str, int]] = Field(
        description="Tickets per label of each head of the active model (the default model: "
        "category, department, kind), then per channel and status."
    )
    time_to_close_hours: CloseTime
    overdue: Share
    routing: Routing
    returned: Share
    live_accuracy: dict[str, Accuracy]
    live_accuracy_quality_check: dict[str, Accuracy]


class Term(BaseModel):
    term: str
    z: float
    recent: int
    before: int


class Hotspot(BaseModel):
    unit: Literal["category", "department", "cell"]
    category: str | None
    department: str | None
    window: int = Field(description="Tickets in the window.")
    baseline: int = Field(description="Tickets in the baseline period.")
    expected: float = Field(description="The baseline count scaled to the window's length.")
    ratio: float | None
    p_value: float
    q_value: float = Field(description="Benjamini-Hochberg adjusted p-value.")
    terms: list[Term]
    examples: list[str]


class Topic(BaseModel):
    size: int
    terms: list[Term]
    categories: dict[str, int]
    examples: list[str]


class HotspotsOut(BaseModel):
    window: Period
    baseline: Period
    department: str | None
    alpha: float
    min_count: int
    tested: int
    baseline_days: float
    note: str | None = None
    hotspots: list[Hotspot]
    emerging: dict[str, list[Topic]]
