"""Progress bars on stderr when it is a terminal, nothing in pipes and log files (tqdm)."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import IO, Any

from triage.engine.progress import Progress, quiet

__all__ = ["progress_bars"]


class _Bars:
    """One bar per stage; a new stage closes the previous bar."""

    def __init__(self, stream: IO[str]) -> None:
        self.stream = stream
        self.stage: str | None = None
        self.bar: Any = None

    def __call__(self, stage: str, done: int, total: int) -> None:
        from tqdm import tqdm

        if stage != self.stage or self.bar is None:
            self.close()
            self.stage = stage
            self.bar = tqdm(total=total, desc=stage, file=self.stream, leave=False, dynamic_ncols=True)
        self.bar.update(done - self.bar.n)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None


@contextmanager
def progress_bars(stream: IO[str] | None = None) -> Iterator[Progress]:
    """A progress callback for the engine: bars on a terminal, silence otherwise."""
    out = sys.stderr if stream is None else stream
    if not out.isatty():
        yield quiet
        return
    bars = _Bars(out)
    try:
        yield bars
    finally:
        bars.close()
