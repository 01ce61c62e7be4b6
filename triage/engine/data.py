"""Reading labelled CSV files and the project's own data folder (taxonomy, dictionaries)."""

from __future__ import annotations

import csv
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from triage.engine.heads import default_heads
from triage.engine.persist import sha256_of
from triage.errors import BadInput

__all__ = ["Dataset", "Taxonomy", "read_labelled", "read_lines"]

csv.field_size_limit(10_000_000)


@dataclass
class Dataset:
    """Rows of {text, title} with their labels per head, and where they came from."""

    items: list[dict[str, str]] = field(default_factory=list)
    labels: dict[str, list[str]] = field(default_factory=dict)
    files: list[dict[str, Any]] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.items)


def _open_rows(path: Path) -> tuple[list[str], list[dict[str, str]]]:
    if not path.is_file():
        raise BadInput(f"The data file {path} does not exist.")
    try:
        with open(path, encoding="utf-8-sig", newline="") as fh:
            reader = csv.DictReader(fh)
            rows = list(reader)
            return list(reader.fieldnames or []), rows
    except (UnicodeDecodeError, csv.Error) as exc:
        raise BadInput(f"The data file {path} is not a UTF-8 CSV file: {exc}.") from exc


def read_labelled(
    paths: Sequence[Path],
    heads: Sequence[str] | None = None,
    text_cols: Sequence[str] = ("title", "text"),
    require_heads: bool = True,
) -> Dataset:
    """Read CSV files with a text column and label columns.

    ``heads=None`` takes whichever heads of the project's taxonomy the files have
    (triage.engine.heads.default_heads). Text columns
    other than the last are treated as titles (prepended). An empty label leaves that row out
    of that head only; an empty text is an error naming the row.
    """
    if not paths:
        raise BadInput("No data files were given.")
    data = Dataset()
    wanted: list[str] | None = list(heads) if heads else None
    for path in paths:
        columns, rows = _open_rows(Path(path))
        body_col = text_cols[-1]
        if body_col not in columns:
            raise BadInput(f"The data file {path} has no {body_col!r} column (it has: {', '.join(columns)}).")
        known = default_heads()
        file_heads = wanted if wanted is not None else [h for h in known if h in columns]
        missing = [h for h in file_heads if h not in columns]
        if missing and require_heads:
            raise BadInput(f"The data file {path} has no {missing[0]!r} column.")
        if not file_heads and require_heads:
            raise BadInput(f"The data file {path} has no label column ({', '.join(known)}).")
        if wanted is None:
            wanted = file_heads
        for number, row in enumerate(rows, start=2):
            text = (row.get(body_col) or "").strip()
            if not text:
                raise BadInput(f"Row {number} of {path} has an empty {body_col!r}.")
            title = "。".join(
                (row.get(c) or "").strip() for c in text_cols[:-1] if (row.get(c) or "").strip()
            )
            data.items.append(
                {"text": text, "title": title, "id": row.get("id") or f"{Path(path).name}:{number}"}
            )
            for h in wanted:
                data.labels.setdefault(h, []).append((row.get(h) or "").strip())
        # The name, not the path: the card is shown over the API (/v1/model), and where the
        # server keeps its files is nobody's business there; the hash identifies the data.
        data.files.append({"file": Path(path).name, "sha256": sha256_of(Path(path)), "rows": len(rows)})
    if not data.items:
        raise BadInput("The data files hold no rows.")
    return data


def read_lines(path: Path) -> tuple[str, ...]:
    """Non-empty, non-comment lines of a text file (dictionaries, stop words)."""
    if not path.is_file():
        return ()
    lines = (ln.strip() for ln in path.read_text(encoding="utf-8").splitlines())
    return tuple(ln for ln in lines if ln and not ln.startswith("#"))


@dataclass(frozen=True)
class Taxonomy:
    """Label names per head and the fallback labels, from data/taxonomy.json."""

    heads: dict[str, dict[str, dict[str, Any]]]
    fallback: dict[str, str]

    def names(self) -> dict[str, dict[str, str]]:
        return {
            h: {lab: info.get("name", lab) for lab, info in labels.items()}
            for h, labels in self.heads.items()
        }

    def labels(self, head: str) -> list[str]:
        return list(self.heads.get(head, {}))

    def name(self, head: str, label: str) -> str:
        return str(self.heads.get(head, {}).get(label, {}).get("name", label))


@lru_cache(maxsize=4)
def load_taxonomy(path: Path) -> Taxonomy:
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise BadInput(f"The taxonomy {path} cannot be read: {exc}.") from exc
    heads = {h: spec.get("labels", {}) for h, spec in raw.get("heads", {}).items()}
    return Taxonomy(heads=heads, fallback=dict(raw.get("fallback", {})))
