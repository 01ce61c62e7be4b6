import sqlalchemy as sa

from triage.storage.db import current_revision, upgrade

HEAD = "0008"


def test_migrations_build_an_empty_database(database_url):
    assert current_revision(database_url) is None
    upgrade(database_url)
    assert current_revision(database_url) == HEAD
    engine = sa.create_engine(database_url)
    tables = set(sa.inspect(engine).get_table_names())
    engine.dispose()
    assert {
        "tickets",
        "ticket_events",
        "api_keys",
        "corrections",
        "returns",
        "model_events",
        "daily_counts",
    } <= tables


def test_the_rollup_migration_counts_the_tickets_already_stored(database_url):
    from datetime import UTC, datetime, timedelta

    from triage.storage import rollups
    from triage.storage.schema import Ticket

    upgrade(database_url, "0005")
    at = datetime(2026, 11, 3, 9, tzinfo=UTC)
    row = {
        "code": "A",
        "created_at": at,
        "updated_at": at,
        "channel": "web",
        "text": "x",
        "text_masked": "x",
        "status": "closed",
        "category": "tax",
        "department": "tax_bureau",
        "kind": "complaint",
        "prediction": {},
        "needs_review": False,
        "confidence": 0.9,
        "due_at": at,
        "closed_at": at + timedelta(hours=3),
        "uncertain_heads": "",
        "margin": 1.0,
    }
    engine = sa.create_engine(database_url)
    with engine.begin() as conn:  # Core, as an older release wrote them: no rollups yet
        conn.execute(
            sa.insert(Ticket.__table__), [row, {**row, "code": "B", "status": "received", "closed_at": None}]
        )
    engine.dispose()
    upgrade(database_url)
    engine = sa.create_engine(database_url)
    with engine.connect() as conn:
        counts = rollups.stored(conn)
    engine.dispose()
    day = at.date()
    assert counts[(day, "tax_bureau", "total", "")] == 2
    assert counts[(day, "tax_bureau", "status", "closed")] == 1
    assert counts[(day, "tax_bureau", "close", str(rollups.bucket(3 * 3600)))] == 1


def test_upgrading_again_keeps_existing_data(database_url):
    upgrade(database_url)
    engine = sa.create_engine(database_url)
    with engine.begin() as conn:
        conn.execute(
            sa.text(
                "INSERT INTO api_keys (name, role, prefix, key_hash, created_at) "
                "VALUES ('a', 'admin', 'p', 'h', CURRENT_TIMESTAMP)"
            )
        )
    upgrade(database_url)
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM api_keys")).scalar() == 1
    engine.dispose()


def test_upgrade_from_the_first_schema_keeps_tickets(database_url):
    upgrade(database_url, "0001")
    engine = sa.create_engine(database_url)
    with engine.begin() as conn:
        conn.execute(
            sa.text(
                "INSERT INTO tickets (code, created_at, updated_at, channel, text, text_masked, "
                "status, category, department, kind, prediction, needs_review, confidence, "
                "due_at) VALUES ('AAAAA-AAAAA-AAAAA', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP, "
                "'web', '原文', '原文', 'received', 'tax', 'tax_bureau', 'complaint', '{}', "
                "false, 0.5, CURRENT_TIMESTAMP)"
            )
        )
    upgrade(database_url)
    with engine.connect() as conn:
        row = conn.execute(sa.text("SELECT code, text, margin, review_reason FROM tickets")).one()
    engine.dispose()
    assert tuple(row) == ("AAAAA-AAAAA-AAAAA", "原文", 1.0, None)
