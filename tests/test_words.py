"""The words hotspots read, stored at intake (ticket_words): the same answer as segmenting
the texts, without segmenting any; filled for older tickets; the migrations go back down."""

from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from paths import PROJECT_ROOT
from seeding import NOW, ordinary_traffic, queue_spike, session_at
from sqlalchemy import func, select

from triage.service import hotspots, words
from triage.storage.db import make_engine, upgrade
from triage.storage.schema import Ticket, TicketWords

WORDS = words.Words.load(PROJECT_ROOT / "data")


def test_stored_words_read_back_as_the_segmented_text():
    text = "区行政服务中心 排队两个小时，WiFi 连不上，[PHONE] 打不通"
    stored = WORDS.stored(text)
    assert WORDS.read(text, stored) == WORDS(text) and "排队" in WORDS(text)
    assert "[PHONE]" not in stored and all(w.strip() == w and w for w in stored.split(" "))
    assert WORDS.read("排队", "") == ()  # a text with no word worth showing
    assert WORDS.read("排队两个小时", None) == WORDS("排队两个小时")  # not stored: segmented


def test_intake_stores_the_tickets_words(app, client, make_key):
    text = "我叫张三，在区行政服务中心排队两个小时，窗口只开两个，电话13812345678"
    r = client.post("/v1/tickets", json={"text": text}, headers=make_key("intake"))
    assert r.status_code == 201
    with app.extensions["triage.db"].session() as s:
        masked, stored = s.execute(select(Ticket.text_masked, TicketWords.words).join(Ticket.words)).one()
    assert stored == WORDS.stored(masked) and "排队" in stored.split(" ")
    assert "13812345678" not in stored and "张三" not in stored


def answer(session):
    return hotspots.report(session, now=NOW, window=timedelta(days=1), words=WORDS)


def test_hotspots_from_stored_words_equal_segmenting_and_segment_nothing(database_url, monkeypatch):
    with session_at(database_url) as s:
        ordinary_traffic(s)
        queue_spike(s)
        assert s.scalar(select(func.count()).select_from(TicketWords)) == 0  # seeded without words
        segmented = answer(s)
        total = s.scalar(select(func.count()).select_from(Ticket))
    engine = make_engine(database_url)
    try:
        assert words.fill(engine, WORDS, batch=40) == total
        assert words.fill(engine, WORDS) == 0  # nothing left: running it again adds nothing
    finally:
        engine.dispose()

    def refuse(self, text):
        raise AssertionError("segmented a text whose words are stored")

    monkeypatch.setattr(words.Words, "of", refuse)
    words._words.cache_clear()
    with session_at(database_url) as s:
        stored = answer(s)
    assert stored == segmented
    assert stored["hotspots"] and stored["hotspots"][0]["terms"]


def test_fill_words_command_and_deleting_a_ticket_deletes_its_words(database_url, monkeypatch, capsys):
    from triage.cli import main

    monkeypatch.setenv("TRIAGE_DATABASE_URL", database_url)
    with session_at(database_url) as s:
        ordinary_traffic(s)
        n = s.scalar(select(func.count()).select_from(Ticket))
    assert main(["stats", "fill-words"]) == 0
    assert f"words stored for {n} tickets" in capsys.readouterr().out
    with session_at(database_url) as s:
        ticket = s.scalar(select(Ticket).order_by(Ticket.id.desc()).limit(1))
        assert ticket.words is not None and ticket.words.words == WORDS.stored(ticket.text_masked)
        s.delete(ticket)
        s.commit()
        assert s.scalar(select(func.count()).select_from(TicketWords)) == n - 1


def test_the_words_migration_goes_back_down_keeping_the_tickets(database_url):
    from alembic import command

    from triage.storage.db import alembic_config

    upgrade(database_url)
    with session_at(database_url) as s:
        s.add(ticket_row())
        s.commit()
        s.add(TicketWords(ticket_id=s.scalar(select(Ticket.id)), words="排队 窗口"))
        s.commit()
    engine = sa.create_engine(database_url)
    sqlite_ids = {"ix_tickets_id"} if database_url.startswith("sqlite") else set()  # 0010, SQLite only
    assert sqlite_ids <= indexes(engine)
    with engine.begin() as conn:
        cfg = alembic_config(database_url)
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0008")
    tables = set(sa.inspect(engine).get_table_names())
    assert not sqlite_ids & indexes(engine)
    with engine.connect() as conn:
        assert conn.scalar(sa.text("SELECT count(*) FROM tickets")) == 1
    engine.dispose()
    assert "ticket_words" not in tables and "tickets" in tables
    upgrade(database_url)  # and up again, empty
    with session_at(database_url) as s:
        assert s.scalar(select(func.count()).select_from(TicketWords)) == 0


def indexes(engine: sa.Engine) -> set[str]:
    if engine.dialect.name != "sqlite":
        return set()
    with engine.connect() as conn:
        return set(conn.scalars(sa.text("SELECT name FROM sqlite_master WHERE type = 'index'")))


def ticket_row() -> Ticket:
    at = datetime(2026, 11, 3, 9, tzinfo=UTC)
    return Ticket(
        code="A",
        created_at=at,
        channel="web",
        text="排队",
        text_masked="排队",
        status="received",
        labels={},
        prediction={},
        due_at=at,
    )
