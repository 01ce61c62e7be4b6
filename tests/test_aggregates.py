"""What the database aggregates (summary, hotspot counts, listing pages) equals a plain
Python computation over the same few hundred random tickets, on SQLite and PostgreSQL."""

import random
from collections import Counter
from datetime import timedelta

import pytest
from seeding import NOW, session_at, texts, ticket
from sqlalchemy import text

from triage.service import hotspots, stats
from triage.service import tickets as svc
from triage.storage.schema import Correction, Return, Ticket

CATEGORIES = ("queue_waiting", "tax", "food_license", "other")
DEPARTMENTS = ("service_center", "tax_bureau", "market_regulation")
REASONS = (None, None, None, "uncertain", "quality_check", "returned", "returned_twice")
HEADS = ("category", "department", "kind")


def random_tickets(rng: random.Random, n: int) -> list[Ticket]:
    out = []
    messages = texts(n)
    for i in range(n):
        created = NOW - timedelta(days=rng.uniform(0, 60))
        closed = rng.random() < 0.6
        t = ticket(
            messages[i],
            rng.choice(CATEGORIES),
            rng.choice(DEPARTMENTS),
            rng.choice(("complaint", "consultation")),
            created,
            channel=rng.choice(("web", "phone", "app")),
            status="closed" if closed else rng.choice(("received", "dispatched", "replied")),
            closed_at=created + timedelta(hours=rng.uniform(0.1, 400)) if closed else None,
            due_at=created + timedelta(days=rng.choice((3, 10, 30))),
            needs_review=rng.random() < 0.3,
            review_reason=rng.choice(REASONS),
        )
        for _ in range(rng.choice((0, 0, 1, 2))):
            changed = rng.choice(("", "category", "kind", "category,department"))
            labels = dict(t.labels)
            t.corrections.append(
                Correction(
                    actor="r",
                    predicted={},
                    changed=changed,
                    labels=labels,
                    category=t.category,
                    department=t.department,
                )
            )
        if rng.random() < 0.1:
            t.returns.append(Return(department=t.department, actor="d", reason="x", routed_to="other"))
        out.append(t)
    return out


@pytest.fixture()
def seeded(database_url):
    with session_at(database_url) as session:
        session.add_all(random_tickets(random.Random(5), 300))
        session.commit()
        yield session


def by_hand(tickets: list[Ticket], now) -> dict:
    """The summary's figures the slow, obvious way."""

    def ranked(counter: Counter) -> dict[str, int]:
        return dict(sorted(counter.items(), key=lambda kv: (-kv[1], kv[0])))

    total = len(tickets)
    hours = [(t.closed_at - t.created_at).total_seconds() / 3600 for t in tickets if t.closed_at]
    verdicts = [t.corrections[-1] for t in tickets if t.corrections]  # latest: highest id
    sampled = [
        c for t in tickets if t.corrections for c in [t.corrections[-1]] if t.review_reason == "quality_check"
    ]

    def kept(cs: list[Correction]) -> dict[str, float | None]:
        return {
            h: round(sum(h not in c.changed.split(",") for c in cs) / len(cs), 4) if cs else None
            for h in HEADS
        }

    reasons = Counter(t.review_reason for t in tickets if t.review_reason)
    return {
        "total": total,
        "counts": {
            name: ranked(Counter(str(t.labels[name] if name in HEADS else getattr(t, name)) for t in tickets))
            for name in stats.breakdowns(HEADS)
        },
        "ttc": (
            len(hours),
            round(stats.percentile(hours, 0.5), 2) if hours else None,
            round(stats.percentile(hours, 0.9), 2) if hours else None,
        ),
        "overdue": sum(t.status != "closed" and t.due_at < now for t in tickets),
        "unsure": sum(t.needs_review for t in tickets),
        "reasons": {r: reasons.get(r, 0) for r in stats.REVIEW_REASONS},
        "returned": sum(bool(t.returns) for t in tickets),
        "accuracy": kept(verdicts),
        "accuracy_qc": kept(sampled),
    }


@pytest.mark.parametrize("days", [None, 30, 7])
def test_summary_equals_a_python_computation(seeded, days):
    start = NOW - timedelta(days=days) if days else None
    every = seeded.query(Ticket).order_by(Ticket.id).all()
    inside = [t for t in every if start is None or t.created_at >= start]
    want = by_hand(inside, NOW)
    got = stats.summary(seeded, start, None, now=NOW, heads=HEADS)
    assert got["total"] == want["total"] and got["counts"] == want["counts"]
    ttc = got["time_to_close_hours"]
    assert (ttc["n"], ttc["median"], ttc["p90"]) == want["ttc"]
    assert got["overdue"]["n"] == want["overdue"]
    assert got["routing"]["sent_to_review"]["n"] == want["unsure"]
    assert got["routing"]["review_reasons"] == want["reasons"]
    assert got["returned"]["n"] == want["returned"]
    assert {h: v["accuracy"] for h, v in got["live_accuracy"].items()} == want["accuracy"]
    assert {h: v["accuracy"] for h, v in got["live_accuracy_quality_check"].items()} == want["accuracy_qc"]


def test_one_departments_summary_equals_a_python_computation(seeded):
    every = seeded.query(Ticket).all()
    mine = [t for t in every if t.department == "tax_bureau"]
    got = stats.summary(seeded, department="tax_bureau", now=NOW, heads=HEADS)
    want = by_hand(mine, NOW)
    assert got["total"] == want["total"] and got["counts"] == want["counts"]
    assert got["overdue"]["n"] == want["overdue"] and got["returned"]["n"] == want["returned"]


def test_hotspot_counts_equal_a_python_count(seeded, monkeypatch):
    monkeypatch.setattr(hotspots, "MIN_RATIO", 0.0)
    window, baseline = timedelta(days=7), timedelta(days=28)
    every = seeded.query(Ticket).all()
    start = NOW - window
    recent = Counter(t.category for t in every if start <= t.created_at < NOW)
    before = Counter(t.category for t in every if start - baseline <= t.created_at < start)
    found = hotspots.spikes(seeded, NOW, window, baseline, hotspots.Words(), alpha=1.0, min_count=1)
    assert found["tested"] == len(
        {("category", c) for c in recent | before}
        | {("department", t.department) for t in every if start - baseline <= t.created_at < NOW}
        | {("cell", t.category, t.department) for t in every if start - baseline <= t.created_at < NOW}
    )
    categories = {h["category"]: h for h in found["hotspots"] if h["unit"] == "category"}
    assert categories, "with no thresholds every category with recent tickets is listed"
    for category, spot in categories.items():
        assert (spot["window"], spot["baseline"]) == (recent[category], before[category])


def test_listing_pages_and_cursors_equal_a_python_slice(seeded):
    every = sorted((t for t in seeded.query(Ticket) if t.status != "closed"), key=lambda t: -t.id)
    filters = {"status": None, "overdue": True}
    overdue = [t.id for t in every if t.due_at < NOW]
    page3 = svc.list_tickets(seeded, filters, 3, 7, now=NOW)
    assert page3.total == len(overdue) and [t.id for t in page3.rows] == overdue[14:21]
    walked, after = [], None
    while True:
        page = svc.list_tickets(seeded, filters, 1, 7, now=NOW, after=after)
        walked += [t.id for t in page.rows]
        if page.after is None:
            break
        after = page.after
    assert walked == overdue


def test_a_count_past_the_exact_limit_is_an_estimate_on_postgresql(seeded, monkeypatch):
    monkeypatch.setattr(svc, "COUNT_EXACT", 20)
    seeded.execute(
        text("ANALYZE tickets") if seeded.get_bind().dialect.name == "postgresql" else text("ANALYZE")
    )
    page = svc.list_tickets(seeded, {}, 1, 5, now=NOW)
    if seeded.get_bind().dialect.name == "postgresql":
        assert page.exact is False and page.total == 300  # the planner's row count after ANALYZE
    else:
        assert page.exact is True and page.total == 300
    small = svc.list_tickets(seeded, {"category": "tax", "since": NOW - timedelta(days=3)}, 1, 5, now=NOW)
    want = (
        seeded.query(Ticket)
        .filter(Ticket.category == "tax", Ticket.created_at >= NOW - timedelta(days=3))
        .count()
    )
    assert small.exact is True and small.total == want <= 20
