"""The taxonomy a model folder carries: ``taxonomy.json`` beside ``model.npz`` and ``card.json``.

Same format as ``data/taxonomy.json``: ``{"heads": {head: {"name": ..., "labels": {label:
{"name": ..., "time_limit_days": ...}}}}, "fallback": {"department": label}}``. Label ids are
the centre's own labels (Chinese allowed). Staff edit display names, time limits and the
fallback there; the file is not part of the model's hash, so an edit never refuses the model.
Training writes it: names and time limits from the base taxonomy for the labels it knows
(the bundled one, or the previous version's file when retraining, so edits carry over), the
label itself as name otherwise, no time limit (the service's default applies).
"""

from __future__ import annotations

import json
import os
import tempfile
from collections import Counter
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from triage.engine.heads import DEPARTMENT, TAXONOMY_FILE
from triage.errors import BadInput

__all__ = [
    "FALLBACK_HEAD",
    "TAXONOMY",
    "build_taxonomy",
    "choose_fallback",
    "names_of",
    "read_taxonomy",
    "section",
    "write_taxonomy",
]

TAXONOMY = TAXONOMY_FILE
FALLBACK_HEAD = DEPARTMENT  # the head whose uncertain answers go to a fallback label


def section(raw: Mapping[str, Any], key: str) -> dict[str, Any]:
    """``raw[key]`` when it is an object, else {}: a hand-edited file may hold anything."""
    value = raw.get(key)
    return value if isinstance(value, dict) else {}


def read_taxonomy(path: Path) -> dict[str, Any]:
    """The raw taxonomy JSON in ``path`` (a file, or a model folder); {} when there is none."""
    if path.is_dir():
        path = path / TAXONOMY
    if not path.is_file():
        return {}
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise BadInput(f"The taxonomy {path} cannot be read: {exc}.") from exc
    return raw if isinstance(raw, dict) else {}


def choose_fallback(
    labels: Sequence[str], requested: str | None, defaults: Sequence[str | None] = ()
) -> tuple[str, str]:
    """(the fallback department, why it was chosen) from a department head's row labels.

    ``requested`` (``--fallback``) must be one of the labels; else the first of ``defaults``
    that is one (the base taxonomy's, the setting's); else the most frequent label.
    """
    counts = Counter(lab for lab in labels if lab)
    if not counts:
        raise BadInput("The department head has no labels, so no fallback department can be chosen.")
    if requested is not None:
        if requested not in counts:
            known = ", ".join(sorted(counts)[:20]) + (" ..." if len(counts) > 20 else "")
            raise BadInput(
                f"The fallback department {requested!r} is not one of the department labels ({known})."
            )
        return requested, "given with --fallback"
    for label in defaults:
        if label and label in counts:
            return label, "the taxonomy's fallback"
    label, n = counts.most_common(1)[0]
    return label, f"the most frequent department ({n} rows); change it with --fallback or in {TAXONOMY}"


def build_taxonomy(
    classes: Mapping[str, Sequence[str]], base: Mapping[str, Any], fallback: str | None
) -> dict[str, Any]:
    """The taxonomy of a model with ``classes`` (head -> its labels), names and time limits
    taken from ``base`` where it has the label, and ``fallback`` as the fallback department."""
    base_heads = section(base, "heads")
    heads: dict[str, Any] = {}
    for head, labels in classes.items():
        known = section(base_heads, head)
        known_labels = section(known, "labels")
        out: dict[str, dict[str, Any]] = {}
        for label in labels:
            info = known_labels.get(label)
            entry: dict[str, Any] = {"name": label}
            if isinstance(info, dict):
                entry["name"] = str(info.get("name") or label)
                if isinstance(info.get("time_limit_days"), int):
                    entry["time_limit_days"] = info["time_limit_days"]
            out[label] = entry
        heads[head] = {"name": str(known.get("name") or head), "labels": out}
    return {
        "fallback": {FALLBACK_HEAD: fallback} if fallback is not None and FALLBACK_HEAD in classes else {},
        "heads": heads,
    }


def names_of(taxonomy: Mapping[str, Any]) -> dict[str, dict[str, str]]:
    """head -> {label: display name}, what the model shows until the service reads the file."""
    out: dict[str, dict[str, str]] = {}
    for head in section(taxonomy, "heads"):
        labels = section(section(taxonomy["heads"], head), "labels")
        out[head] = {
            lab: str(info.get("name") or lab) if isinstance(info, dict) else lab
            for lab, info in labels.items()
        }
    return out


def write_taxonomy(folder: Path, taxonomy: Mapping[str, Any]) -> Path:
    """Write ``taxonomy`` into the model folder (atomically: a reader never sees half a file)."""
    path = folder / TAXONOMY
    text = json.dumps(taxonomy, ensure_ascii=False, indent=2) + "\n"
    fd, tmp = tempfile.mkstemp(dir=folder, suffix=".tmp")
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(text)
    os.replace(tmp, path)
    return path
