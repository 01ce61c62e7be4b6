"""A ticket's words as hotspots read them, stored beside the ticket.

Segmenting the few thousand messages a hotspot answer reads was most of its cost (each
worker's first answer segmented up to 3,000 texts), so intake and import store each
ticket's words in ``ticket_words``. Tickets stored before that table existed (migration
0009) are segmented when read, as before, until ``triage stats fill-words`` (``fill``)
stores theirs.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, Select, exists, func, select

from triage.engine.data import read_lines
from triage.engine.progress import Progress, quiet
from triage.engine.text import PLACEHOLDERS, mask, tokenize
from triage.storage import bulk
from triage.storage.schema import Ticket, TicketWords

__all__ = ["SEPARATOR", "Words", "fill", "with_words"]

SEPARATOR = " "  # tokenize drops white space, so no word holds one
FILL_BATCH = 10_000


@dataclass(frozen=True)
class Words:
    """Turns masked texts into the words worth showing: jieba tokens of two or more
    characters, without placeholders and stop words."""

    userdict: tuple[str, ...] = ()
    stopwords: frozenset[str] = field(default_factory=frozenset)

    @classmethod
    def load(cls, data_dir: Path) -> Words:
        return cls(read_lines(data_dir / "userdict.txt"), frozenset(read_lines(data_dir / "stopwords.txt")))

    def __call__(self, text: str) -> tuple[str, ...]:
        return _words(self, text)

    def of(self, text: str) -> tuple[str, ...]:
        """``self(text)`` without the cache: for a new ticket's text, read once."""
        # Masked again: copies stored before a masking rule existed (names, addresses) still
        # hold what it now takes out, and a repeated name must never come out as a term.
        tokens = tokenize(mask(text), self.userdict, self.stopwords)
        return tuple(t for t in tokens if len(t) >= 2 and t not in PLACEHOLDERS)

    def stored(self, text: str) -> str:
        """The ``ticket_words`` value of a masked text."""
        return SEPARATOR.join(self.of(text))

    def read(self, text: str, stored: str | None) -> tuple[str, ...]:
        """A ticket's words: the stored ones, else its masked text segmented now."""
        if stored is None:
            return self(text)
        return tuple(stored.split(SEPARATOR)) if stored else ()


@lru_cache(maxsize=20_000)
def _words(words: Words, text: str) -> tuple[str, ...]:
    # Keyed by the text itself (masked texts never change): tickets without stored words
    # are read again on every dashboard view.
    return words.of(text)


def with_words(query: Select[*tuple[Any, ...]]) -> Select[*tuple[Any, ...]]:
    """``query`` (over tickets) with each ticket's stored words as its last column (None
    for a ticket stored before they were)."""
    return query.add_columns(TicketWords.words).outerjoin(TicketWords, TicketWords.ticket_id == Ticket.id)


def fill(engine: Engine, words: Words, batch: int = FILL_BATCH, progress: Progress = quiet) -> int:
    """Store the words of every ticket that has none, newest first (hotspots read the
    newest), ``batch`` tickets per transaction: stopping keeps what is done, and running it
    again goes on. The number of tickets filled."""
    missing = ~exists().where(TicketWords.ticket_id == Ticket.id)
    with engine.connect() as conn:
        total = int(conn.scalar(select(func.count()).select_from(Ticket).where(missing)) or 0)
    done = 0
    below: int | None = None
    while True:
        query = select(Ticket.id, Ticket.text_masked).where(missing).order_by(Ticket.id.desc()).limit(batch)
        if below is not None:
            query = query.where(Ticket.id < below)
        with engine.begin() as conn:
            rows = conn.execute(query).all()
            if not rows:
                return done
            bulk.insert_rows(conn, "ticket_words", ("ticket_id", "words"), _rows(words, rows))
        done += len(rows)
        below = rows[-1][0]
        progress("storing words", done, max(total, done))


def _rows(words: Words, rows: Iterable[Any]) -> list[tuple[int, str]]:
    # Through the cache: stored tickets often repeat a text (copies, boilerplate).
    return [(int(tid), SEPARATOR.join(words(text))) for tid, text in rows]
