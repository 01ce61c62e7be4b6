"""The daily rollups stay equal to a fresh count of the tickets through intake, status
moves, corrections, send-backs and deletions, on SQLite and PostgreSQL; a summary over
periods with partial days equals the plain scan."""

import random
from collections import Counter
from datetime import UTC, datetime, timedelta

from seeding import HEADS, NOW, session_at, texts, ticket
from test_aggregates import random_tickets

from triage.service import review, rollups, stats
from triage.service import tickets as svc
from triage.service.status import IllegalTransition
from triage.storage import rollups as stored
from triage.storage.schema import Ticket

KNOWN = {
    "category": ["queue_waiting", "tax", "food_license", "other"],
    "department": ["service_center", "tax_bureau", "market_regulation"],
    "kind": ["complaint", "consultation"],
}


def fresh(session) -> dict:
    return {k: n for k, n in stored.count(session, []).items() if n}


def test_rollups_equal_a_fresh_count_after_a_mix_of_writes(database_url):
    rng = random.Random(7)
    with session_at(database_url) as session:
        session.add_all(random_tickets(rng, 120))
        session.commit()
        assert stored.stored(session) == fresh(session)

        for i, message in enumerate(texts(20, seed=3)):  # intake through the service
            pred = svc_prediction(rng)
            svc.create_ticket(
                session,
                text=message,
                title=None,
                channel=rng.choice(("web", "phone")),
                contact={},
                prediction=pred,
                days=3,
                tz="Asia/Shanghai",
                qc_share=0.3,
                now=NOW - timedelta(hours=i * 7),
            )
        every = session.query(Ticket).order_by(Ticket.id).all()
        done = Counter()
        for t in rng.sample(every, 60):
            action = rng.choice(("event", "event", "correct", "confirm", "return"))
            try:
                if action == "event":
                    step = rng.choice(("dispatched", "accepted", "replied", "closed"))
                    svc.add_event(
                        session, t, step, "staff", now=t.created_at + timedelta(hours=rng.uniform(1, 300))
                    )
                elif action in ("correct", "confirm"):
                    labels = {"category": rng.choice(KNOWN["category"])} if action == "correct" else {}
                    review.add_correction(session, t, "reviewer", labels, KNOWN)
                else:
                    review.return_ticket(
                        session, t, t.department, "dept", "不属于本部门", None, "service_center"
                    )
                done[action] += 1
            except IllegalTransition:
                session.rollback()
        session.commit()
        assert all(done[a] >= 3 for a in ("event", "correct", "confirm", "return")), done
        # A write that rolls back leaves its rollups behind too.
        t = session.query(Ticket).filter(Ticket.status != "closed").first()
        t.category = "tax" if t.category != "tax" else "other"
        session.flush()
        session.rollback()
        session.delete(session.query(Ticket).order_by(Ticket.id.desc()).first())
        session.commit()

        assert stored.stored(session) == fresh(session)
        # Rebuilding from the tickets gives the same rows.
        before = stored.stored(session)
        stored.rebuild(session)
        session.commit()
        assert stored.stored(session) == before


def svc_prediction(rng):
    from seeding import prediction

    pred = prediction(
        rng.choice(KNOWN["category"]), rng.choice(KNOWN["department"]), rng.choice(KNOWN["kind"])
    )
    pred["needs_review"] = rng.random() < 0.3
    return pred


def assert_summary_is_the_scan(session, start, end, department, heads, now=NOW):
    """The summary from the rollups equals the plain scan of the tickets (main's way)."""
    got = stats.summary(session, start, end, department, now=now, heads=heads)
    conds = stats.scope(start, end, department)
    rows = stats.grouped(session, conds, now, heads)
    total = sum(int(r[-1]) for r in rows)
    assert got["total"] == total
    assert got["counts"] == {name: stats._by(rows, i) for i, name in enumerate(stats.breakdowns(heads))}
    assert got["time_to_close_hours"] == stats.time_to_close(session, conds)
    assert got["overdue"]["n"] == sum(int(r[-1]) for r in rows if r[-2])
    assert got["returned"] == stats.returned(session, conds, total)
    verdicts = stats.changed_counts(session, conds)
    assert got["live_accuracy"] == stats.accuracy(verdicts["all"], heads)
    assert got["live_accuracy_quality_check"] == stats.accuracy(verdicts["quality_check"], heads)
    assert got["routing"] == stats.routing(rows, total)
    return got


# The default model's heads; a model without a department head; one with a head the stored
# tickets were never labelled for (all of it "None").
MODELS = [HEADS, ("category", "kind"), ("department", "urgency")]


def test_summary_of_periods_with_partial_days_equals_the_scan(database_url):
    rng = random.Random(11)
    with session_at(database_url) as session:
        mixed = random_tickets(rng, 200)
        for t in mixed[::7]:  # from a model without a category head
            t.category = None
            t.labels = {"department": t.department, "kind": t.labels["kind"]}
        for t in mixed[3::9]:  # from a model without a department head or a kind head
            t.department = None
            t.labels = {"category": t.category}
        session.add_all(mixed)
        session.commit()
        starts = [None, NOW - timedelta(days=20, hours=5), NOW - timedelta(hours=3)]
        ends = [None, NOW - timedelta(days=2, minutes=7), NOW - timedelta(hours=1)]
        for start in starts:
            for end in ends:
                if start and end and start >= end:
                    continue
                for department in (None, "tax_bureau"):
                    for heads in MODELS:
                        assert_summary_is_the_scan(session, start, end, department, heads)
        whole = stats.summary(session, now=NOW, heads=HEADS)["counts"]
        assert whole["category"]["None"] == len(mixed[::7])
        assert whole["kind"]["None"] == len(mixed[3::9])  # unlabelled for kind, from the total


def test_a_drifted_bucket_falls_back_to_the_scan(database_url):
    with session_at(database_url) as session:
        created = datetime(2026, 11, 2, 3, tzinfo=UTC)
        for hours in (1, 2, 30, 31):
            session.add(
                ticket(
                    "排队太久",
                    created_at=created,
                    status="closed",
                    closed_at=created + timedelta(hours=hours),
                )
            )
        session.commit()
        histogram = stats.summary(session, now=NOW, heads=HEADS)["time_to_close_hours"]
        assert histogram == {"n": 4, "median": 16.0, "p90": 30.7}
        # Pretend the rollups lost a ticket: the bucket's tickets no longer match its count.
        wrong = rollups.Period()
        wrong.by[("close", str(stored.bucket(3600)))] = 2
        wrong.by[("close", str(stored.bucket(30 * 3600)))] = 2
        try:
            rollups.time_to_close(session, [], wrong.values("close"))
        except rollups.Drifted:
            pass
        else:
            raise AssertionError("a bucket holding 1 ticket where the rollup says 2 must not be ranked")


def test_add_tickets_counts_rows_written_without_the_orm(database_url):
    with session_at(database_url) as session:
        at = datetime(2026, 10, 1, 12, tzinfo=UTC)
        row = {
            "created_at": at,
            "department": "tax_bureau",
            "category": "tax",
            "labels": {"category": "tax", "department": "tax_bureau", "kind": "complaint"},
            "channel": "web",
            "status": "closed",
            "needs_review": False,
            "review_reason": None,
            "closed_at": at + timedelta(hours=5),
        }
        assert rollups.add_tickets(session, [row, {**row, "returned": True}]) == 2
        session.commit()
        counts = stored.stored(session)
        assert counts[(at.date(), "tax_bureau", "total", "")] == 2
        assert counts[(at.date(), "tax_bureau", "returned", "1")] == 1
        assert counts[(at.date(), "tax_bureau", "kind", "complaint")] == 2
        assert counts[(at.date(), "tax_bureau", "category", "tax")] == 2  # the column, not twice
        assert (at.date(), "tax_bureau", "department", "tax_bureau") not in counts
        assert counts[(at.date(), "tax_bureau", "close", str(stored.bucket(5 * 3600)))] == 2
        # A centre's extra head, named and labelled at length (an imported column's text),
        # and a verdict naming many heads: counted as they are, on PostgreSQL too.
        head, label = "urgency_as_the_centre_grades_it_" * 2, "需要在三个工作日内答复的紧急诉求" * 8
        verdict = ",".join(f"head_number_{i}" for i in range(20))
        long = {**row, "labels": {head: label}, "verdict": verdict}
        rollups.add_tickets(session, [long])
        session.commit()
        counts = stored.stored(session)
        assert counts[(at.date(), "tax_bureau", head, label)] == 1
        assert counts[(at.date(), "tax_bureau", "verdict", verdict)] == 1


def test_the_rebuild_command_recounts_rollups_from_the_tickets(database_url, monkeypatch, capsys):
    from sqlalchemy import delete

    from triage.cli import main

    monkeypatch.setenv("TRIAGE_DATABASE_URL", database_url)
    with session_at(database_url) as session:
        session.add_all(random_tickets(random.Random(3), 40))
        session.commit()
        want = stored.stored(session)
        session.execute(delete(stored.DailyCount).where(stored.DailyCount.dimension == "status"))
        session.commit()
        assert stored.stored(session) != want
    assert main(["stats", "rebuild-rollups"]) == 0
    assert "40 tickets" in capsys.readouterr().out
    with session_at(database_url) as session:
        assert stored.stored(session) == want
