import sqlalchemy as sa

from triage.storage.db import current_revision, upgrade


def test_migrations_build_an_empty_database(database_url):
    assert current_revision(database_url) is None
    upgrade(database_url)
    assert current_revision(database_url) == "0001"
    engine = sa.create_engine(database_url)
    tables = set(sa.inspect(engine).get_table_names())
    engine.dispose()
    assert {"tickets", "ticket_events", "api_keys", "alembic_version"} <= tables


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
