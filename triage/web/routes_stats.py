"""Seeing the whole: summary figures and hotspots over a period, for staff."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from flask import g
from flask_openapi3 import APIBlueprint, Tag

from triage.service import hotspots, stats, workdays
from triage.service.scoping import department_filter
from triage.web.access import access
from triage.web.apidoc import operation_id
from triage.web.problems import ApiError
from triage.web.schemas_stats import DURATION, HotspotQuery, HotspotsOut, SummaryOut, SummaryQuery
from triage.web.state import models, settings, stats_session, words

bp = APIBlueprint(
    "stats",
    __name__,
    url_prefix="/v1/stats",
    abp_tags=[Tag(name="stats")],
    abp_security=[{"bearer": []}],
    operation_id_callback=operation_id,
)
STAFF = ("reviewer", "department")
UNIT_HOURS = {"h": 1, "d": 24, "w": 168}


def duration(text: str) -> timedelta:
    match = DURATION.match(text)
    if match is None:  # the schema's pattern lets none through; this keeps the type checker honest
        raise ApiError(400, f"{text!r} is not a duration like 24h, 7d or 2w.")
    return timedelta(hours=int(match.group(1)) * UNIT_HOURS[match.group(2)])


def day_start(day: date) -> datetime:
    return workdays.day_start(day, settings().timezone)


@bp.get("/summary", responses={200: SummaryOut})
@access(*STAFF)
def summary(query: SummaryQuery) -> dict[str, Any]:
    """Volumes by each head of the active model (category, department, kind for the default
    one), channel and status; time to close; overdue;
    auto-routed vs reviewed; send-backs; live accuracy per head from reviewers' verdicts."""
    if query.from_ and query.to and query.from_ > query.to:
        raise ApiError(400, "from is after to.", errors=[{"field": "from", "message": "after to"}])
    start = day_start(query.from_) if query.from_ else None
    end = day_start(query.to + timedelta(days=1)) if query.to else None
    heads = list(models().heads())
    return stats.summary(stats_session(), start, end, department_filter(g.key, query.department), heads=heads)


@bp.get("/hotspots", responses={200: HotspotsOut})
@access(*STAFF)
def hotspot_list(query: HotspotQuery) -> dict[str, Any]:
    """Categories, departments and their cells whose recent volume is significantly above
    the baseline rate, with the terms that set the recent messages apart; and emerging
    topics among `other` and low-confidence tickets."""
    conf = settings()
    at = query.at or datetime.now(UTC)
    if at.tzinfo is None:
        at = at.replace(tzinfo=ZoneInfo(conf.timezone))
    return hotspots.report(
        stats_session(),
        now=at.astimezone(UTC),
        window=duration(query.window),
        baseline=duration(query.baseline),
        department=department_filter(g.key, query.department),
        alpha=conf.hotspot_alpha,
        min_count=conf.hotspot_min_count,
        words=words(),
    )
