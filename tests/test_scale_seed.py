"""The seeded year of benchmarks.scale is the data intake would have stored: valid distinct
codes, ids in time order, events, verdicts and bands per ticket, one flood cluster, the
rollups a fresh count gives, and every index and key back after the bulk load."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from benchmarks import scale_load, scale_seed
from benchmarks.harness import texts
from benchmarks.scale import flood_text, seed
from triage.engine.persist import load_model
from triage.service.codes import normalize_code
from triage.service.words import Words
from triage.storage import rollups, upgrade
from triage.storage.db import make_engine, migrated_session
from triage.storage.schema import Correction, Ticket, TicketBand, TicketEvent, TicketWords

pytestmark = pytest.mark.slow  # routes every message of data/messages once

N = 3000


def _indexes(url: str) -> set[tuple[str, ...]]:
    """Every index, unique constraint and foreign key, by name."""
    engine = make_engine(url)
    if engine.dialect.name == "sqlite":
        query = "SELECT type, name FROM sqlite_master WHERE type = 'index'"
    else:
        query = (
            "SELECT 'index', indexname FROM pg_indexes WHERE schemaname = current_schema()"
            " UNION ALL SELECT contype::text, conname FROM pg_constraint"
            " WHERE connamespace = current_schema()::regnamespace"
        )
    try:
        with engine.connect() as conn:
            found = {tuple(row) for row in conn.execute(sa.text(query))}
    finally:
        engine.dispose()
    assert len(found) > 15
    return found


def test_a_seeded_year_is_what_intake_would_have_stored(database_url, tiny_model_dir):
    upgrade(database_url)
    migrated = _indexes(database_url)
    flood = seed(database_url, N, str(tiny_model_dir))["flood"]
    assert _indexes(database_url) == migrated

    with migrated_session(database_url) as session:
        tickets = session.query(Ticket).order_by(Ticket.id).all()
        assert [t.id for t in tickets] == list(range(1, N + 1))
        assert all(a.created_at <= b.created_at for a, b in itertools.pairwise(tickets))
        now = datetime.now(UTC)
        assert now - timedelta(days=366) < tickets[0].created_at < tickets[-1].created_at <= now
        codes = [t.code for t in tickets]
        assert len(set(codes)) == N
        assert all(normalize_code(c) == c for c in codes)

        cluster = [t for t in tickets if t.cluster_id is not None]
        assert len(cluster) == N // 200
        first = cluster[0]
        assert all(t.cluster_id == first.id and t.status != "closed" for t in cluster)
        assert all(t.duplicate_of == first.id for t in cluster[1:]) and first.duplicate_of is None
        assert all(flood in t.text and t.created_at > now - timedelta(days=31) for t in cluster)

        events = session.query(TicketEvent.ticket_id, TicketEvent.type, TicketEvent.at).all()
        assert {tid for tid, kind, _ in events if kind == "received"} == set(range(1, N + 1))
        closed = {(t.id, t.closed_at) for t in tickets if t.closed_at is not None}
        assert {(tid, at) for tid, kind, at in events if kind == "closed"} == closed
        assert {t.id for t in tickets if t.status == "closed"} == {tid for tid, _ in closed}
        reviewed = {t.id for t in tickets if t.reviewed_at is not None}
        corrected = session.query(Correction).all()
        assert {c.ticket_id for c in corrected} == reviewed and reviewed
        for c in corrected:
            ticket = session.get(Ticket, c.ticket_id)
            assert ticket is not None and c.labels == ticket.labels
            assert ticket.category == ticket.labels["category"] == c.category
            assert (c.changed == "category") == (c.predicted["category"] != c.category)
        banded = {tid for (tid,) in session.query(TicketBand.ticket_id).distinct()}
        assert banded == {t.id for t in tickets if t.text_masked.strip()}

        assert rollups.stored(session) == {k: n for k, n in rollups.count(session, []).items() if n}
        words = Words.load(scale_seed.Path(scale_seed.__file__).resolve().parent.parent / "data")
        stored = dict(session.query(TicketWords.ticket_id, TicketWords.words).all())
        assert stored == {t.id: words.stored(t.text_masked) for t in tickets}


def test_a_seeding_stopped_after_its_rows_is_finished_on_reuse(database_url, tiny_model_dir):
    upgrade(database_url)
    migrated = _indexes(database_url)
    model = load_model(str(tiny_model_dir))
    base = scale_seed.routed(texts(40), model, "bench")
    engine = make_engine(database_url)
    try:
        _, restore = scale_load.load(engine, scale_seed.plan(400, base, datetime.now(UTC)))
        assert scale_load.pending(engine) == restore and restore
        with pytest.raises(sa.exc.SQLAlchemyError):  # one index built, then a failure
            scale_load.finish(engine, [restore[0], "CREATE INDEX broken ON no_such_table (x)"])
        assert scale_load.pending(engine) == restore[1:]
    finally:
        engine.dispose()
    assert flood_text(database_url)  # --reuse: builds what was left first
    assert _indexes(database_url) == migrated
    engine = make_engine(database_url)
    try:
        assert scale_load.pending(engine) is None
    finally:
        engine.dispose()


def test_the_intake_profile_counts_each_intakes_statements(tmp_path, tiny_model_dir, capsys):
    from benchmarks import intake_profile

    url = f"sqlite:///{tmp_path / 'small.db'}"
    upgrade(url)
    assert intake_profile.main([url, "--calls", "2", "--model", str(tiny_model_dir)]) == 0
    out = capsys.readouterr().out
    assert "new texts: median" in out and "CPU a request" in out
    assert "   2 x " in out and "INSERT INTO tickets" in out
    with pytest.raises(SystemExit):
        intake_profile.main([url, "--calls", "0"])
