import sqlalchemy as sa

from triage.storage.db import current_revision, upgrade

HEAD = "0011"


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

    upgrade(database_url, "0007")
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
        "labels": {"category": "tax", "department": "tax_bureau", "kind": "complaint"},
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
    assert counts[(day, "tax_bureau", "kind", "complaint")] == 2  # an extra head: its own dimension
    assert not any(dim == "department" for _, _, dim, _ in counts)  # a role: the department key
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


def _insert_old_ticket(conn) -> None:
    """A ticket of the 0005 schema (three fixed head columns), an event and a verdict."""
    conn.execute(
        sa.text(
            "INSERT INTO tickets (code, created_at, updated_at, channel, text, text_masked, "
            "status, category, department, kind, prediction, needs_review, confidence, "
            "due_at, uncertain_heads, margin) VALUES ('BBBBB-BBBBB-BBBBB', CURRENT_TIMESTAMP, "
            "CURRENT_TIMESTAMP, 'web', '原文', '原文', 'received', 'tax', 'tax_bureau', "
            "'complaint', '{}', false, 0.5, CURRENT_TIMESTAMP, '', 1.0)"
        )
    )
    tid = conn.execute(sa.text("SELECT id FROM tickets")).scalar()
    conn.execute(
        sa.text("INSERT INTO ticket_events (ticket_id, type, at) VALUES (:t, 'received', CURRENT_TIMESTAMP)"),
        {"t": tid},
    )
    conn.execute(
        sa.text(
            "INSERT INTO corrections (ticket_id, at, actor, predicted, category, department, kind, "
            "changed, new_label) VALUES (:t, CURRENT_TIMESTAMP, 'r', '{}', 'tax', 'tax_bureau', "
            "'consultation', 'kind', false)"
        ),
        {"t": tid},
    )


def test_labels_migration_keeps_every_ticket_its_events_and_its_labels(database_url):
    import json

    upgrade(database_url, "0005")
    engine = sa.create_engine(database_url)
    with engine.begin() as conn:
        _insert_old_ticket(conn)
    upgrade(database_url)
    with engine.connect() as conn:
        labels = conn.execute(sa.text("SELECT labels FROM tickets")).scalar()
        verdict = conn.execute(sa.text("SELECT labels FROM corrections")).scalar()
        events = conn.execute(sa.text("SELECT count(*) FROM ticket_events")).scalar()
        columns = {c["name"] for c in sa.inspect(conn).get_columns("tickets")}
        # A model without a category head stores NULL there now.
        conn.execute(sa.text("UPDATE tickets SET category = NULL"))
    engine.dispose()
    as_dict = lambda v: v if isinstance(v, dict) else json.loads(v)  # noqa: E731
    assert as_dict(labels) == {"category": "tax", "department": "tax_bureau", "kind": "complaint"}
    assert as_dict(verdict)["kind"] == "consultation"
    assert events == 1  # rebuilding the table on SQLite did not cascade into its events
    assert "kind" not in columns and {"labels", "category", "department"} <= columns


def test_labels_migration_goes_back_down(database_url):
    from alembic import command

    from triage.storage.db import alembic_config

    upgrade(database_url, "0005")
    engine = sa.create_engine(database_url)
    with engine.begin() as conn:
        _insert_old_ticket(conn)
    upgrade(database_url)
    with engine.begin() as conn:
        cfg = alembic_config(database_url)
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0005")
    with engine.connect() as conn:
        row = conn.execute(sa.text("SELECT category, department, kind FROM tickets")).one()
    engine.dispose()
    assert tuple(row) == ("tax", "tax_bureau", "complaint")


def test_sqlite_skips_the_listings_ids_on_an_index_of_ids_alone(tmp_path):
    from sqlalchemy import select

    from triage.storage.schema import Ticket

    url = f"sqlite:///{tmp_path / 'ids.db'}"
    upgrade(url)
    engine = sa.create_engine(url)
    deep_page = select(Ticket.id).order_by(Ticket.id.desc()).limit(51).offset(500_000)
    with engine.connect() as conn:
        compiled = deep_page.compile(conn)
        plan = conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {compiled}", tuple(compiled.params.values())).all()
    engine.dispose()
    # Not the table itself, whose tree holds whole rows: a page 10,000 deep read them all.
    assert "COVERING INDEX ix_tickets_id" in str(plan), plan
