"""Reading labelled tables (a centre's export or the project's own CSV files) and the data
folder (taxonomy, dictionaries)."""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from triage.engine.heads import default_heads
from triage.engine.persist import sha256_of
from triage.engine.readers import open_table
from triage.errors import BadInput

__all__ = [
    "HEAD_NAME",
    "MIN_ROWS",
    "DataReport",
    "DataSpec",
    "Dataset",
    "Taxonomy",
    "read_labelled",
    "read_lines",
]

#: A head's name: it names the head in the API, the model card and the taxonomy file.
HEAD_NAME = re.compile(r"[a-z][a-z0-9_]{0,31}")
#: Names a head cannot take: the prediction object's own keys, and the ticket fields the
#: daily rollups count beside the heads (a head "status" would add to the status counts).
RESERVED_HEAD_NAMES = frozenset(
    {"needs_review", "model_version", "review_reason", "fallback", "suggested"}
    | {"total", "channel", "status", "returned", "verdict", "verdict_qc", "close"}
)
#: Fewer rows than this for a label are reported (and left out with ``drop_rare``): with so few
#: examples the 3-fold calibration has at most one or two per fold, and the model rarely predicts
#: such a label right (the Haikou export has 120 units, 30 of them with fewer than five rows).
MIN_ROWS = 5


@dataclass(frozen=True)
class DataSpec:
    """How to read a centre's files: which column is the text, which the titles, which column
    holds each head's labels, and the file's encoding or sheet.

    ``titles`` empty means a column named ``title`` when the file has one; ``heads`` None means
    whichever heads of the project's taxonomy (``default_heads()``) the file has, each from the
    column of that name; ``id`` None means a column named ``id`` when there is one, else the
    file's name (less its extension, so a CSV and an .xlsx of one export agree) and row number.
    The id picks the held-out tenth.
    """

    text: str = "text"
    titles: tuple[str, ...] = ()
    heads: Mapping[str, str] | None = None
    id: str | None = None
    encoding: str | None = None
    sheet: str | None = None
    min_rows: int = MIN_ROWS
    drop_rare: bool = False


@dataclass
class DataReport:
    """What reading found that a person should know: rows skipped, labels missing or rare."""

    rows: int = 0
    empty_text: int = 0
    empty_label: dict[str, int] = field(default_factory=dict)
    rare: dict[str, dict[str, int]] = field(default_factory=dict)
    min_rows: int = MIN_ROWS
    dropped_rare: bool = False

    def sentences(self) -> list[str]:
        out = []
        if self.empty_text:
            out.append(f"{self.empty_text} of {self.rows} rows have an empty text and were left out.")
        for head, n in self.empty_label.items():
            if n:
                out.append(f"{n} rows have no {head} label: they train the other heads only.")
        for head, labels in self.rare.items():
            if not labels:
                continue
            listed = ", ".join(f"{lab} ({n})" for lab, n in sorted(labels.items(), key=lambda x: x[1])[:10])
            more = f" and {len(labels) - 10} more" if len(labels) > 10 else ""
            what = (
                "left out of that head (--drop-rare)"
                if self.dropped_rare
                else "kept (--drop-rare leaves them out)"
            )
            out.append(
                f"{len(labels)} {head} labels have fewer than {self.min_rows} rows, {what}: {listed}{more}."
            )
        return out

    def as_dict(self) -> dict[str, Any]:
        return {
            "rows": self.rows,
            "empty_text": self.empty_text,
            "empty_label": self.empty_label,
            "min_rows": self.min_rows,
            "rare_labels": {h: sorted(labels) for h, labels in self.rare.items()},
            "dropped_rare": self.dropped_rare,
        }


@dataclass
class Dataset:
    """Rows of {text, title} with their labels per head, and where they came from."""

    items: list[dict[str, str]] = field(default_factory=list)
    labels: dict[str, list[str]] = field(default_factory=dict)
    files: list[dict[str, Any]] = field(default_factory=list)
    report: DataReport = field(default_factory=DataReport)

    def __len__(self) -> int:
        return len(self.items)


def _legacy_spec(heads: Sequence[str] | None, text_cols: Sequence[str]) -> DataSpec:
    titles = tuple(text_cols[:-1])
    return DataSpec(
        text=text_cols[-1],
        titles=() if titles == ("title",) else titles,
        heads={h: h for h in heads} if heads else None,
    )


def read_labelled(
    paths: Sequence[Path],
    heads: Sequence[str] | None = None,
    text_cols: Sequence[str] = ("title", "text"),
    require_heads: bool = True,
    spec: DataSpec | None = None,
) -> Dataset:
    """Read labelled tables (CSV in UTF-8, GBK or GB18030, or .xlsx) as ``spec`` says.

    Without ``spec``: ``heads`` (None: whichever heads of the project's taxonomy the files have)
    from columns of those names, ``text_cols`` the text columns, the last the body and the
    others titles. A row with an empty text is left out and counted; an empty label leaves
    that row out of that head only. ``require_heads=False`` skips heads a file lacks.
    """
    if not paths:
        raise BadInput("No data files were given.")
    spec = spec or _legacy_spec(heads, text_cols)
    for name in spec.heads or ():
        if not HEAD_NAME.fullmatch(name):
            raise BadInput(
                f"{name!r} cannot name a head: use lower-case letters, digits and _ "
                "(department and category are the heads the service gives roles to)."
            )
        if name in RESERVED_HEAD_NAMES:
            raise BadInput(
                f"A head cannot be named {name!r}: the service uses that name for its own field; "
                f"name it otherwise (--head {name}_label=COLUMN)."
            )
    data = Dataset(report=DataReport(min_rows=spec.min_rows, dropped_rare=spec.drop_rare))
    wanted: dict[str, str] | None = dict(spec.heads) if spec.heads else None
    for path in map(Path, paths):
        with open_table(path, spec.encoding, spec.sheet) as table:
            table.require(spec.text, "--text")
            for title in spec.titles:
                table.require(title, "--title")
            titles = spec.titles or (("title",) if "title" in table.columns else ())
            if wanted is None:
                known = default_heads()
                wanted = {h: h for h in known if h in table.columns}
                if not wanted and require_heads:
                    raise BadInput(
                        f"The file {path.name} has none of the label columns {', '.join(known)} "
                        f"(its columns are: {', '.join(table.columns)}); name them with --head NAME=COLUMN."
                    )
            file_heads = {}
            for head, column in wanted.items():
                if column in table.columns:
                    file_heads[head] = column
                elif require_heads:
                    table.require(column, f"--head {head}={column}" if spec.heads else "")
            if spec.id is not None:
                table.require(spec.id, "--id")
            id_col = spec.id or ("id" if "id" in table.columns else None)
            before = len(data.items)
            for row in table.rows:
                data.report.rows += 1
                text = row[spec.text]
                if not text:
                    data.report.empty_text += 1
                    continue
                title = "。".join(row[c] for c in titles if row[c])
                row_id = (row[id_col] if id_col else "") or f"{path.stem}:{table.row_number}"
                data.items.append({"text": text, "title": title, "id": row_id})
                for head in wanted:
                    label = row[file_heads[head]] if head in file_heads else ""
                    data.labels.setdefault(head, []).append(label)
                    if not label:
                        data.report.empty_label[head] = data.report.empty_label.get(head, 0) + 1
            # The name, not the path: the card is shown over the API (/v1/model), and where the
            # server keeps its files is nobody's business there; the hash identifies the data.
            entry: dict[str, Any] = {
                "file": path.name,
                "sha256": sha256_of(path),
                "rows": len(data.items) - before,
                "encoding": table.encoding,
            }
            if table.sheet:
                entry["sheet"] = table.sheet
            data.files.append(entry)
    if not data.items:
        raise BadInput("The data files hold no rows with a text.")
    _rare(data, spec)
    return data


def _rare(data: Dataset, spec: DataSpec) -> None:
    """Count the labels with fewer than ``min_rows`` rows; blank them with ``drop_rare``."""
    for head, labels in data.labels.items():
        counts = Counter(lab for lab in labels if lab)
        rare = {lab: n for lab, n in counts.items() if n < spec.min_rows}
        data.report.rare[head] = rare
        if spec.drop_rare and rare:
            data.labels[head] = ["" if lab in rare else lab for lab in labels]


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
