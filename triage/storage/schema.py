"""Tables. Changes go through an Alembic migration in triage/migrations/versions."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    SmallInteger,
    String,
    Text,
)
from sqlalchemy import text as sql
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.types import TypeDecorator


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC in Python on every backend (SQLite keeps no zone of its own)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def utcnow() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    pass


class Ticket(Base):
    __tablename__ = "tickets"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    channel: Mapped[str] = mapped_column(String(16))
    # What the person submitted, kept as is; only text_masked is used for learning and logs.
    title: Mapped[str | None] = mapped_column(Text)
    text: Mapped[str] = mapped_column(Text)
    text_masked: Mapped[str] = mapped_column(Text)
    contact_name: Mapped[str | None] = mapped_column(String(200))
    contact_phone: Mapped[str | None] = mapped_column(String(64))
    contact_email: Mapped[str | None] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(16), index=True)
    # Effective routing: the prediction, later the latest correction or send-back. ``labels``
    # holds every head the ticket's model had (triage.engine.heads); the two role heads are
    # also columns of their own, indexed, and NULL when the model has no such head.
    category: Mapped[str | None] = mapped_column(String(64), index=True)
    department: Mapped[str | None] = mapped_column(String(64), index=True)
    labels: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    prediction: Mapped[dict[str, Any]] = mapped_column(JSON)
    model_version: Mapped[str | None] = mapped_column(String(64))
    needs_review: Mapped[bool] = mapped_column(Boolean, default=False, index=True)
    confidence: Mapped[float] = mapped_column(Float, default=0.0)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Review: why it is in the queue (uncertain, quality_check, returned, returned_twice),
    # the smallest top-two margin of the uncertain heads, and when a person verified it.
    review_reason: Mapped[str | None] = mapped_column(String(16), index=True)
    uncertain_heads: Mapped[str] = mapped_column(String(255), default="")
    margin: Mapped[float] = mapped_column(Float, default=1.0)
    reviewed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Repeat complaints: the earlier open ticket this one repeats, and its cluster.
    duplicate_of: Mapped[int | None] = mapped_column(ForeignKey("tickets.id"))
    cluster_id: Mapped[int | None] = mapped_column(index=True)
    # The ticket's id in the system it was imported from (triage.service.imports); NULL for
    # tickets taken in by intake. Unique: importing a file again adds nothing twice.
    external_id: Mapped[str | None] = mapped_column(String(128))

    events: Mapped[list[TicketEvent]] = relationship(
        back_populates="ticket", order_by="TicketEvent.id", cascade="all, delete-orphan"
    )
    corrections: Mapped[list[Correction]] = relationship(
        back_populates="ticket", order_by="Correction.id", cascade="all, delete-orphan"
    )
    returns: Mapped[list[Return]] = relationship(
        back_populates="ticket", order_by="Return.id", cascade="all, delete-orphan"
    )
    words: Mapped[TicketWords | None] = relationship(cascade="all, delete-orphan")

    # The review queue reads only the tickets awaiting a person (triage.service.review).
    __table_args__ = (
        Index(
            "ix_tickets_review_queue",
            "review_reason",
            "margin",
            "id",
            sqlite_where=sql("review_reason IS NOT NULL AND reviewed_at IS NULL"),
            postgresql_where=sql("review_reason IS NOT NULL AND reviewed_at IS NULL"),
        ),
        Index("ux_tickets_external_id", "external_id", unique=True),
        # SQLite only (PostgreSQL's primary key is this already): SQLite keeps rows in the
        # primary key's tree, so skipping ids for a deep page read every row; this one holds ids alone.
        Index("ix_tickets_id", "id").ddl_if(dialect="sqlite"),
        # Every column the summary reads (triage.service.stats): it scans this, not the rows.
        Index(
            "ix_tickets_summary",
            *("created_at", "category", "department", "channel", "status"),
            *("needs_review", "review_reason", "due_at", "closed_at"),
        ),
        # Overdue depends on the clock: counted over the open tickets alone (rollups hold the rest).
        Index(
            "ix_tickets_open",
            "due_at",
            "created_at",
            "department",
            sqlite_where=sql("status != 'closed'"),
            postgresql_where=sql("status != 'closed'"),
        ),
    )

    def label(self, head: str) -> str | None:
        """The ticket's label of ``head``; None when its model had no such head."""
        return (self.labels or {}).get(head)


class TicketEvent(Base):
    __tablename__ = "ticket_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"))
    type: Mapped[str] = mapped_column(String(16))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    actor: Mapped[str | None] = mapped_column(String(100))
    department: Mapped[str | None] = mapped_column(String(64))
    note: Mapped[str | None] = mapped_column(Text)  # internal, staff only
    public_reply: Mapped[str | None] = mapped_column(Text)  # shown to the submitter

    ticket: Mapped[Ticket] = relationship(back_populates="events")

    __table_args__ = (Index("ix_ticket_events_ticket_id", "ticket_id"),)


class ApiKey(Base):
    __tablename__ = "api_keys"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    role: Mapped[str] = mapped_column(String(16))
    department: Mapped[str | None] = mapped_column(String(64))
    prefix: Mapped[str] = mapped_column(String(16))  # shown in listings to tell keys apart
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Correction(Base):
    """A reviewer's verdict on a ticket's labels, appended, never overwritten. ``labels``
    holds the full verified set (every head of the model), the role heads also as columns;
    ``changed`` names the heads the reviewer changed (empty: a confirmation)."""

    __tablename__ = "corrections"

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    actor: Mapped[str] = mapped_column(String(100))
    model_version: Mapped[str | None] = mapped_column(String(64))
    predicted: Mapped[dict[str, Any]] = mapped_column(JSON)  # {head: label} it corrects
    category: Mapped[str | None] = mapped_column(String(64))
    department: Mapped[str | None] = mapped_column(String(64))
    labels: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    changed: Mapped[str] = mapped_column(String(255), default="")
    new_label: Mapped[bool] = mapped_column(Boolean, default=False)
    note: Mapped[str | None] = mapped_column(Text)

    ticket: Mapped[Ticket] = relationship(back_populates="corrections")


class Return(Base):
    """A department sending a ticket back as not theirs (退单): evidence for learning."""

    __tablename__ = "returns"

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    department: Mapped[str] = mapped_column(String(64))
    actor: Mapped[str] = mapped_column(String(100))
    reason: Mapped[str] = mapped_column(Text)
    suggested_department: Mapped[str | None] = mapped_column(String(64))
    routed_to: Mapped[str] = mapped_column(String(64))

    ticket: Mapped[Ticket] = relationship(back_populates="returns")


class ModelEvent(Base):
    """The model registry's history; the newest row names the active version, so every
    process sharing the database follows it."""

    __tablename__ = "model_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    version: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(16))  # initial, promote, rollback
    actor: Mapped[str] = mapped_column(String(100))
    forced: Mapped[bool] = mapped_column(Boolean, default=False)
    note: Mapped[str | None] = mapped_column(Text)


class TicketBand(Base):
    """One LSH band of a ticket's MinHash signature: tickets sharing a (band, hash) pair
    are candidate repeats (triage.service.repeats)."""

    __tablename__ = "ticket_bands"

    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"), primary_key=True)
    band: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    hash: Mapped[int] = mapped_column(BigInteger)

    __table_args__ = (Index("ix_ticket_bands_band_hash_ticket", "band", "hash", "ticket_id"),)


class TicketWords(Base):
    """A ticket's words as hotspots read them (triage.service.words), stored at intake and
    import so that a hotspot answer segments nothing; a row per ticket, kept out of the
    tickets table so that filling it for stored tickets rewrites no ticket."""

    __tablename__ = "ticket_words"

    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"), primary_key=True)
    words: Mapped[str] = mapped_column(Text)  # separated by spaces (no word holds one)


class PageSession(Base):
    """A signed-in staff page session. The cookie holds a random token; this row, found by
    the token's SHA-256, is what makes it valid, so signing out (deleting it) ends the session
    for every copy of the cookie. The CSRF token of its forms lives here too."""

    __tablename__ = "page_sessions"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)  # SHA-256 of the cookie token
    key_id: Mapped[int] = mapped_column(ForeignKey("api_keys.id", ondelete="CASCADE"), index=True)
    csrf: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class IdempotencyKey(Base):
    """An ``Idempotency-Key`` sent with POST /v1/tickets: the same caller sending the same
    key again within a day gets the ticket the first request made, not a second one."""

    __tablename__ = "idempotency_keys"

    id: Mapped[int] = mapped_column(primary_key=True)
    caller: Mapped[str] = mapped_column(String(32))  # "key:<api key id>" or "open"
    key: Mapped[str] = mapped_column(String(200))
    fingerprint: Mapped[str] = mapped_column(String(64))  # SHA-256 of the request body
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (Index("ux_idempotency_keys_caller_key", "caller", "key", unique=True),)
