"""A period on one page: report.html with PNG charts next to it (volume by category,
department load and overdue, confusion of prediction vs reviewer), the hotspots and the
summary figures. Charts name labels by id: the machine may have no font for Chinese names,
and a chart of empty boxes is worse than one of ids (the tables give the names)."""

from __future__ import annotations

import html
from collections import Counter
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from triage.engine.heads import CATEGORY, DEPARTMENT, Heads
from triage.errors import TriageError
from triage.service import hotspots, stats
from triage.storage.schema import Ticket

__all__ = [
    "build",
    "confusion_chart",
    "department_chart",
    "department_load",
    "require_matplotlib",
    "volume_chart",
]


def require_matplotlib() -> None:
    """PNG charts need matplotlib, an optional extra (the service itself draws SVG)."""
    try:
        import matplotlib  # noqa: F401
    except ImportError as exc:
        raise TriageError(
            "PNG charts need matplotlib, which is not installed: "
            "install it with `pip install 'triage[report]'`."
        ) from exc


def _figure(width: float, height: float) -> Any:
    from matplotlib.figure import Figure  # no pyplot: no global state, no GUI backend

    return Figure(figsize=(width, height), dpi=100, layout="constrained")


def _empty(ax: Any, title: str) -> None:
    ax.set_title(title)
    ax.text(0.5, 0.5, "no tickets in this period", ha="center", va="center", transform=ax.transAxes)
    ax.set_axis_off()


def volume_chart(rows: list[tuple[date, str]], days: list[date], path: Path) -> None:
    """Tickets per day, stacked by category."""
    fig = _figure(11, 5)
    ax = fig.subplots()
    if not rows:
        _empty(ax, "Tickets per day by category")
    else:
        counts = Counter(rows)
        categories = sorted({c for _, c in rows})
        import matplotlib

        cmap = matplotlib.colormaps["tab20"]
        bottom = [0] * len(days)
        for i, category in enumerate(categories):
            heights = [counts[(d, category)] for d in days]
            ax.bar(days, heights, bottom=bottom, label=category, color=cmap(i % 20), width=0.8)
            bottom = [b + h for b, h in zip(bottom, heights, strict=True)]
        ax.set_title("Tickets per day by category")
        ax.set_ylabel("tickets")
        ax.legend(fontsize=8, ncols=2, loc="upper left", bbox_to_anchor=(1.01, 1))
        fig.autofmt_xdate()
    fig.savefig(path)


def department_chart(load: dict[str, dict[str, int]], path: Path) -> None:
    """Per department: tickets of the period, those still open, those overdue."""
    fig = _figure(9, 1.5 + 0.5 * max(1, len(load)))
    ax = fig.subplots()
    if not load:
        _empty(ax, "Department load")
    else:
        names = sorted(load, key=lambda d: load[d]["tickets"])
        y = range(len(names))
        bars = (("tickets", "#9ecae1"), ("open", "#3182bd"), ("overdue", "#de2d26"))
        for offset, (key, colour) in enumerate(bars):
            at = [i + (offset - 1) * 0.27 for i in y]
            ax.barh(at, [load[n][key] for n in names], 0.27, label=key, color=colour)
        ax.set_yticks(list(y), names)
        ax.set_xlabel("tickets")
        ax.set_title("Department load and overdue (open and overdue: now)")
        ax.legend()
    fig.savefig(path)


def confusion_chart(head: str, verdicts: list[dict[str, Any]], accuracy: dict[str, Any], path: Path) -> None:
    """Prediction vs the reviewer's label, over the latest verdict per verified ticket."""
    import numpy as np

    pairs = [
        (v["predicted"].get(head) or "?", v["verified"][head]) for v in verdicts if v["verified"].get(head)
    ]
    labels = sorted({p for p, _ in pairs} | {t for _, t in pairs})
    n = len(labels)
    fig = _figure(2.5 + 0.45 * n, 2 + 0.4 * n)
    ax = fig.subplots()
    if not pairs:
        _empty(ax, f"{head}: no verified tickets")
        fig.savefig(path)
        return
    index = {label: i for i, label in enumerate(labels)}
    matrix = np.zeros((n, n), dtype=int)
    for predicted, verified in pairs:
        matrix[index[verified], index[predicted]] += 1
    ax.imshow(matrix, cmap="Blues")
    ax.set_xticks(range(n), labels, rotation=60, ha="right", fontsize=8)
    ax.set_yticks(range(n), labels, fontsize=8)
    ax.set_xlabel("predicted")
    ax.set_ylabel("reviewer")
    for i in range(n):
        for j in range(n):
            if matrix[i, j]:
                colour = "white" if matrix[i, j] > matrix.max() / 2 else "black"
                ax.text(j, i, int(matrix[i, j]), ha="center", va="center", fontsize=7, color=colour)
    ax.set_title(f"{head}: live accuracy {accuracy['accuracy']:.2f} (n={accuracy['n']})")
    fig.savefig(path)


def _table(header: list[str], rows: list[list[Any]]) -> str:
    head = "".join(f"<th>{html.escape(str(h))}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in r) + "</tr>" for r in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


def department_load(session: Session, conds: list[Any], now: datetime) -> dict[str, dict[str, int]]:
    """Per department: tickets matching ``conds``, those still open, those overdue now."""
    load: dict[str, dict[str, int]] = {}
    rows = session.execute(select(Ticket.department, Ticket.status, Ticket.due_at).where(*conds))
    for dept, status, due in rows:
        if dept is None:  # a model without a department head
            continue
        row = load.setdefault(dept, {"tickets": 0, "open": 0, "overdue": 0})
        row["tickets"] += 1
        row["open"] += status != "closed"
        row["overdue"] += status != "closed" and due < now
    return load


def build(
    session: Session,
    first: date,
    last: date,
    out: Path,
    *,
    tz: str,
    heads: Heads,
    words: hotspots.Words,
    now: datetime,
    alpha: float = 0.01,
    min_count: int = 5,
) -> Path:
    """Write report.html and its charts for tickets created from ``first`` to ``last``
    (local days, both included); returns the page's path."""
    zone = ZoneInfo(tz)
    start = datetime.combine(first, datetime.min.time(), zone)
    end = datetime.combine(last + timedelta(days=1), datetime.min.time(), zone)
    out.mkdir(parents=True, exist_ok=True)
    conds = stats.scope(start, end)
    summary = stats.summary(session, start, end, now=now, heads=list(heads))
    created = session.execute(select(Ticket.created_at, Ticket.category).where(*conds)).all()
    days = [first + timedelta(days=i) for i in range((last - first).days + 1)]
    volume_chart([(at.astimezone(zone).date(), c) for at, c in created if c], days, out / "volume.png")
    department_chart(department_load(session, conds, now), out / "departments.png")
    verdicts = stats.latest_corrections(session, conds)
    for head in heads:
        confusion_chart(head, verdicts, summary["live_accuracy"][head], out / f"confusion_{head}.png")
    spots = hotspots.report(session, now=min(end, now), words=words, alpha=alpha, min_count=min_count)
    page = _page(first, last, summary, spots, heads)
    path = out / "report.html"
    path.write_text(page, encoding="utf-8")
    return path


def _percent(share: float | None) -> str:
    return "-" if share is None else f"{share:.0%}"


def _page(first: date, last: date, s: dict[str, Any], spots: dict[str, Any], heads: Heads) -> str:
    def name(head: str, label: str | None) -> str:
        return f"{label} {heads.name(head, label)}" if label else "-"

    ttc = s["time_to_close_hours"]
    figures = [
        ["tickets", s["total"]],
        ["closed: median / 90th percentile hours to close", f"{ttc['median']} / {ttc['p90']} (n={ttc['n']})"],
        ["overdue now", s["overdue"]["n"]],
        ["routed by the model alone", _percent(s["routing"]["auto_routed"]["share"])],
        ["sent back by a department", s["returned"]["n"]],
    ]
    accuracy = [[h, a["accuracy"], a["n"], a["ci95"]] for h, a in s["live_accuracy"].items()]
    spot_rows = [
        [
            h["unit"],
            name(CATEGORY, h["category"]),
            name(DEPARTMENT, h["department"]),
            h["window"],
            h["expected"],
            h["p_value"],
            " ".join(t["term"] for t in h["terms"][:8]),
            " ".join(h["examples"]),
        ]
        for h in spots["hotspots"]
    ]
    topic_rows = [
        [group, t["size"], " ".join(x["term"] for x in t["terms"][:8]), " ".join(t["examples"])]
        for group, topics in spots["emerging"].items()
        for t in topics
    ]
    parts = [
        "<!doctype html><html lang='zh'><head><meta charset='utf-8'>",
        f"<title>Tickets {first} to {last}</title>",
        "<style>body{font-family:sans-serif;max-width:1100px;margin:2em auto}"
        "table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:4px 8px}"
        "img{max-width:100%}</style></head><body>",
        f"<h1>Tickets from {first} to {last}</h1>",
        _table(["figure", "value"], figures),
        "<h2>Volume by category</h2><img src='volume.png' alt='tickets per day by category'>",
        "<h2>Departments</h2><img src='departments.png' alt='department load and overdue'>",
        f"<h2>Hotspots in the week to {html.escape(spots['window']['to'][:10])}</h2>",
        _table(["unit", "category", "department", "tickets", "expected", "p", "terms", "examples"], spot_rows)
        if spot_rows
        else "<p>No volume significantly above its baseline.</p>",
        "<h2>Emerging topics</h2>",
        _table(["among", "size", "terms", "examples"], topic_rows) if topic_rows else "<p>None.</p>",
        "<h2>Prediction vs reviewers</h2>",
        _table(["head", "live accuracy", "verified tickets", "95% interval"], accuracy),
        *(f"<img src='confusion_{h}.png' alt='{h} confusion matrix'>" for h in heads),
        "</body></html>",
    ]
    return "\n".join(parts)
