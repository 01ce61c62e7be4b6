import sqlalchemy as sa

from triage.storage.db import current_revision, upgrade

HEAD = "0005"


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
    } <= tables


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
