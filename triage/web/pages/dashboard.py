"""The staff dashboard: figures of a period (triage.service.stats), hotspots and emerging topics
(triage.service.hotspots) and their charts. A department key sees only its own department."""

from __future__ import annotations

import functools
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from flask import g, render_template, request
from markupsafe import Markup
from sqlalchemy import select

from triage.engine.heads import CATEGORY, DEPARTMENT
from triage.engine.text import mask
from triage.service import hotspots, stats
from triage.service.report import department_load
from triage.service.scoping import department_filter
from triage.service.workdays import day_start, today_local
from triage.storage.schema import Ticket
from triage.web.lookups import known_labels
from triage.web.pages import charts
from triage.web.pages.auth import signed_in
from triage.web.pages.blueprint import bp
from triage.web.pages.present import label_name, label_options, masked_body
from triage.web.state import settings, stats_session, words
from triage.web.taxonomy import heads as served_heads

VIEWERS = ("reviewer", "department")  # and admin
PERIODS = (7, 30, 90)
HOTSPOT_WINDOW, HOTSPOT_BASELINE = timedelta(days=7), timedelta(days=28)
CHARTS = {  # drawn in the page as SVG (triage.web.pages.charts); and one confusion per head
    "volume": "每日工单量（按类别）",
    "departments": "各部门负荷与超期（未办结、超期按当前）",
}
CONFUSION = "{}：模型判断与复核结论"


def chart_titles() -> dict[str, str]:
    """Every chart's caption: the two fixed ones and a confusion chart per head of the model."""
    served = served_heads()
    return {**CHARTS, **{f"confusion_{h}": CONFUSION.format(served.head_name(h)) for h in served}}


def scope() -> dict[str, Any]:
    """Period and department from the query; a department key is held to its own."""
    key = g.page_key
    days = request.args.get("days", type=int)
    department = department_filter(key, request.args.get("department", "")[:64] or None, strict=False)
    return {"days": days if days in PERIODS else 30, "department": department}


def first_day(where: dict[str, Any]) -> date:
    return today_local(settings().timezone) - timedelta(days=where["days"] - 1)


def _examples(codes: set[str]) -> dict[str, dict[str, str]]:
    """Masked title and excerpt of the example tickets, so a hotspot reads as messages."""
    if not codes:
        return {}
    rows = stats_session().execute(
        select(Ticket.code, Ticket.title, Ticket.text_masked).where(Ticket.code.in_(codes))
    )
    return {c: {"title": mask(t) if t else "", "excerpt": masked_body(t, m)[:80]} for c, t, m in rows}


@bp.get("/dashboard")
@signed_in(*VIEWERS)
def dashboard() -> str:
    conf, where = settings(), scope()
    first = first_day(where)
    figures = stats.summary(
        stats_session(),
        day_start(first, settings().timezone),
        None,
        where["department"],
        heads=list(served_heads()),
    )
    spots = hotspots.report(
        stats_session(),
        now=datetime.now(UTC),
        window=HOTSPOT_WINDOW,
        baseline=HOTSPOT_BASELINE,
        department=where["department"],
        alpha=conf.hotspot_alpha,
        min_count=conf.hotspot_min_count,
        words=words(),
    )
    codes = {c for h in spots["hotspots"] for c in h.get("examples", [])}
    codes |= {c for topics in spots["emerging"].values() for t in topics for c in t.get("examples", [])}
    departments = label_options(DEPARTMENT, known_labels().get(DEPARTMENT, []))
    return render_template(
        "pages/dashboard.html",
        where=where,
        periods=PERIODS,
        first_day=first,
        figures=figures,
        spots=spots,
        examples=_examples(codes),
        departments=departments,
        charts=chart_titles(),
        svgs=_charts(where, first),
    )


def _charts(where: dict[str, Any], first: date) -> dict[str, Markup]:
    """Every chart of the period, as inline SVG with the taxonomy's Chinese names."""
    session, now = stats_session(), datetime.now(UTC)
    conds = stats.scope(day_start(first, settings().timezone), None, where["department"])
    zone = ZoneInfo(settings().timezone)
    rows = session.execute(select(Ticket.created_at, Ticket.category).where(*conds))
    days = [first + timedelta(days=i) for i in range(where["days"])]
    titles = chart_titles()
    out = {
        "volume": charts.volume_svg(
            [(at.astimezone(zone).date(), c) for at, c in rows if c is not None],
            days,
            lambda label: label_name(CATEGORY, label),
            titles["volume"],
        ),
        "departments": charts.departments_svg(
            department_load(session, conds, now),
            lambda label: label_name(DEPARTMENT, label),
            titles["departments"],
        ),
    }
    verdicts = stats.latest_corrections(session, conds)
    for head in served_heads():
        pairs = [
            (v["predicted"].get(head) or "?", v["verified"][head])
            for v in verdicts
            if v["verified"].get(head)
        ]
        out[f"confusion_{head}"] = charts.confusion_svg(
            pairs, functools.partial(label_name, head), titles[f"confusion_{head}"]
        )
    return out
