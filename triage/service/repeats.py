"""Repeat complaints: a new ticket that nearly repeats a recent open one is linked to it.

Each ticket's masked text gets a MinHash signature over character 3-grams, cut into LSH
bands stored in ``ticket_bands`` with an index on (band, hash). Finding candidates is then
an index lookup, in every worker and on both databases, however many tickets are stored;
candidates are confirmed by the exact Jaccard similarity of their shingles.
"""

from __future__ import annotations

import unicodedata
import zlib
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache
from hashlib import blake2b
from typing import TYPE_CHECKING, Any

import numpy as np
from sqlalchemy import Select, TextClause, bindparam, func, select, text, union_all, update
from sqlalchemy.orm import Session, object_session
from sqlalchemy.orm.attributes import set_committed_value

from triage.storage.schema import Ticket, TicketBand

if TYPE_CHECKING:
    from triage.settings import Settings

__all__ = [
    "BANDS",
    "ROWS",
    "RepeatPolicy",
    "band_hashes",
    "candidate_query",
    "cluster_sizes",
    "cluster_view",
    "intake_fields",
    "jaccard",
    "link",
    "repeat_of",
    "shingles",
]

SHINGLE = 3
# 10 bands of 3 rows: a pair with Jaccard 0.6 shares a band with probability 0.91, at 0.8
# with 0.999, at 0.3 with 0.24 (weeded out by the exact check). On the project's messages
# re-sent with small edits (Jaccard >= 0.6) it finds 99.6% (16 x 4: 99.5%) and stores ten
# rows per ticket instead of sixteen: writing and probing them is the bulk of what linking
# adds to intake.
BANDS, ROWS = 10, 3
MAX_CANDIDATES = 20  # newest first; bounds the work when many tickets share a boilerplate text
BAND_LIMIT = 50  # newest tickets read per band: bounds the index work likewise
_HASH63 = (1 << 63) - 1  # fits a signed BIGINT on every backend


@dataclass(frozen=True)
class RepeatPolicy:
    window_days: int = 30
    threshold: float = 0.6

    @classmethod
    def from_settings(cls, conf: Settings) -> RepeatPolicy:
        return cls(int(conf.repeat_window_days), float(conf.repeat_threshold))


class _Kept(dict[int, int | None]):
    """str.translate's table: punctuation, spaces and control characters out, the rest kept;
    filled as characters are first met (a lookup in C afterwards)."""

    def __missing__(self, code: int) -> int | None:
        kept = None if unicodedata.category(chr(code))[0] in "PZC" else code
        self[code] = kept
        return kept


_KEPT = _Kept()


def shingles(text: str) -> frozenset[str]:
    """Character 3-grams of the text without punctuation or spaces (so re-punctuating a
    message does not make it new)."""
    chars = text.lower().translate(_KEPT)
    if len(chars) <= SHINGLE:
        return frozenset({chars}) if chars else frozenset()
    return frozenset([chars[i : i + SHINGLE] for i in range(len(chars) - SHINGLE + 1)])


def jaccard(a: frozenset[str], b: frozenset[str]) -> float:
    return len(a & b) / len(a | b) if a and b else 0.0


@lru_cache(maxsize=1)
def _coefficients() -> tuple[np.ndarray, np.ndarray]:
    # Fixed seed (and BANDS, ROWS): stored band hashes must stay comparable across processes
    # and releases; changing any of them leaves stored tickets unfindable until re-banded.
    rng = np.random.default_rng(20261126)
    a = rng.integers(1, 1 << 63, size=BANDS * ROWS, dtype=np.uint64) | np.uint64(1)
    b = rng.integers(0, 1 << 63, size=BANDS * ROWS, dtype=np.uint64)
    return a, b


def signature(grams: frozenset[str]) -> np.ndarray:
    """MinHash: per hash function (multiply-add-shift over a stable CRC32 of the shingle;
    Python's hash() differs between processes), the smallest value over the shingles."""
    a, b = _coefficients()
    x = np.fromiter((zlib.crc32(g.encode()) for g in grams), dtype=np.uint64, count=len(grams))
    smallest: np.ndarray = ((x[:, None] * a[None, :] + b[None, :]) >> np.uint64(32)).min(axis=0)
    return smallest


def band_hashes(grams: frozenset[str]) -> list[int]:
    """One 63-bit hash per band of the signature."""
    sig = signature(grams).astype("<u8")
    return [
        int.from_bytes(blake2b(sig[i * ROWS : (i + 1) * ROWS].tobytes(), digest_size=8).digest()) & _HASH63
        for i in range(BANDS)
    ]


@lru_cache(maxsize=2)
def candidate_query(by_category: bool = True) -> Select[int, str, int | None]:
    """Open tickets of a category since a time that share a band, newest first: id, masked
    text and cluster, enough to verify and link. Bind ``h0``, ``h1``..., ``category`` and ``since``. Built
    once: building this expression costs more than running it. ``by_category=False`` (a
    ticket whose model has no category head) matches by text alone, ``category`` unbound.

    Each band contributes only its BAND_LIMIT newest tickets, read backwards from the
    (band, hash, ticket_id) index: when thousands of tickets share a text (a flood of one
    complaint, or a boilerplate message), a lookup still reads a few hundred index
    entries, not every ticket that ever shared a band. The band match is a subquery so
    that both SQLite and PostgreSQL drive the search from that index."""
    newest = [
        select(TicketBand.ticket_id)
        .where(TicketBand.band == i, TicketBand.hash == bindparam(f"h{i}"))
        .order_by(TicketBand.ticket_id.desc())
        .limit(BAND_LIMIT)
        .subquery()
        for i in range(BANDS)
    ]
    shared = union_all(*(select(band.c.ticket_id) for band in newest))
    same = [Ticket.category == bindparam("category")] if by_category else []
    return (
        select(Ticket.id, Ticket.text_masked, Ticket.cluster_id)
        .where(
            Ticket.id.in_(shared),
            Ticket.created_at >= bindparam("since", type_=Ticket.created_at.type),
            *same,
            Ticket.status != "closed",
        )
        .order_by(Ticket.id.desc())
        .limit(MAX_CANDIDATES)
    )


@lru_cache(maxsize=1)
def band_insert() -> TextClause:
    """A ticket's bands in one multi-row INSERT; bind ``ticket_id`` and ``h0``, ``h1``...
    One statement: executemany sends one per band to PostgreSQL (measured 0.6 vs 1.0-1.4 ms),
    and the ORM would add its bookkeeping. Text, because SQLAlchemy compiles a multi-row
    insert() anew on every call."""
    rows = ", ".join(f"(:ticket_id, {i}, :h{i})" for i in range(BANDS))
    return text(f"INSERT INTO {TicketBand.__tablename__} (ticket_id, band, hash) VALUES {rows}")


def link(session: Session, ticket: Ticket, policy: RepeatPolicy, now: datetime) -> int | None:
    """Link a new, pending ticket to the recent open ticket of the same category it
    repeats, if any (duplicate_of, and the cluster of the first ticket), and store its
    bands. Flushes, does not commit; returns the id of the ticket it repeats."""
    grams = shingles(ticket.text_masked)
    if not grams:
        return None
    bands = {f"h{i}": h for i, h in enumerate(band_hashes(grams))}
    since = now - timedelta(days=policy.window_days)
    with session.no_autoflush:  # the new ticket is inserted below, once linked
        by_category = ticket.category is not None
        where: dict[str, Any] = {"since": since}
        if by_category:
            where["category"] = ticket.category
        query = candidate_query(by_category)
        found = session.connection().execute(query, bands | where).all()  # no ORM layer
        # The most similar; among equals the first (smallest id).
        score, _, best, cluster = max(
            ((jaccard(grams, shingles(masked)), -tid, tid, cid) for tid, masked, cid in found),
            default=(0.0, 0, 0, None),
        )
    if score < policy.threshold:
        return _banded(session, ticket, bands, None)
    if cluster is None:
        cluster = _open_cluster(session, best)
    ticket.duplicate_of = best
    ticket.cluster_id = cluster
    return _banded(session, ticket, bands, best)


def _open_cluster(session: Session, first: int) -> int:
    """The repeated ticket opens a cluster of its own id. A plain UPDATE: the cluster is no
    rollup dimension, so loading the whole row (its texts, its prediction) and the rollup
    hook's reads of it were intake's dearest statements when a popular complaint came
    again. A copy of the row already in the session is kept in step."""
    session.connection().execute(
        update(Ticket).where(Ticket.id == first, Ticket.cluster_id.is_(None)).values(cluster_id=first)
    )
    loaded = session.identity_map.get(session.identity_key(Ticket, first))
    if isinstance(loaded, Ticket) and loaded.cluster_id is None:
        set_committed_value(loaded, "cluster_id", first)
    return first


def _banded(session: Session, ticket: Ticket, bands: dict[str, int], best: int | None) -> int | None:
    session.flush()  # the ticket's id, for its bands (a taken query code fails here)
    session.connection().execute(band_insert(), bands | {"ticket_id": ticket.id})
    return best


def intake_fields(ticket: Ticket) -> dict[str, Any]:
    """What the submitter may learn: only whether the message was linked. Never the earlier
    ticket's query code: a code opens the public lookup, and nothing typed at intake (a phone
    number, an e-mail) proves who is typing it. Staff views show the link."""
    return {"linked": ticket.cluster_id is not None}


def repeat_of(ticket: Ticket) -> str | None:
    """The query code of the ticket this one repeats, for staff."""
    session = object_session(ticket)
    if ticket.duplicate_of is None or session is None:
        return None
    return session.scalar(select(Ticket.code).where(Ticket.id == ticket.duplicate_of))


def cluster_sizes(session: Session, tickets: list[Ticket]) -> dict[int, int]:
    """Tickets per repeat cluster, for the clusters of a page of tickets: one query for
    the page instead of one per row."""
    ids = {t.cluster_id for t in tickets if t.cluster_id is not None}
    if not ids:
        return {}
    query = (
        select(Ticket.cluster_id, func.count()).where(Ticket.cluster_id.in_(ids)).group_by(Ticket.cluster_id)
    )
    return {int(cid): int(n) for cid, n in session.execute(query) if cid is not None}


def cluster_view(ticket: Ticket, sizes: dict[int, int] | None = None) -> dict[str, int] | None:
    """The ticket's repeat cluster for staff: its id (the first ticket's id) and size
    (from ``sizes`` when the caller counted a whole page at once)."""
    if ticket.cluster_id is None:
        return None
    if sizes is not None and ticket.cluster_id in sizes:
        return {"id": ticket.cluster_id, "size": sizes[ticket.cluster_id]}
    session = object_session(ticket)
    if session is None:
        return None
    size = session.scalar(select(func.count()).where(Ticket.cluster_id == ticket.cluster_id))
    return {"id": ticket.cluster_id, "size": int(size or 0)}
