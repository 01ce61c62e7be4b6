"""The heads of a model: the one definition every module uses.

A model's heads are whatever label columns it was trained on; nothing else in the code lists
head names. Two names are ROLES a centre maps its own columns to:

- ``department``: who owns and handles a ticket (routing, department keys, send-backs,
  scoping).
- ``category``: what it is about (tips, time limits, hotspots).

Any other head (``kind``, an urgency, ...) is optional and extra: stored, shown, corrected
and retrained, but nothing depends on it. A model may lack either role; what needs it then
says so (``MissingRole``).

Names, time limits and the fallback department come from the model's own ``taxonomy.json``
(next to its card, editable by staff, the format of data/taxonomy.json) when present, else
from the project's taxonomy for the labels it knows, else the label id with the default time
limit (:func:`model_taxonomy`).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from triage.errors import BadInput

if TYPE_CHECKING:
    from triage.engine.scoring import ServingModel

__all__ = [
    "CATEGORY",
    "DEPARTMENT",
    "ROLES",
    "TAXONOMY_FILE",
    "Heads",
    "MissingRole",
    "default_heads",
    "dress",
    "heads_of",
    "labels_of_card",
    "labels_of_model",
    "model_taxonomy",
    "of_folder",
    "role_columns",
]

DEPARTMENT = "department"
CATEGORY = "category"
ROLES = (DEPARTMENT, CATEGORY)
TAXONOMY_FILE = "taxonomy.json"  # next to a model's card.json; not covered by its hash

_WHY = {
    DEPARTMENT: "no department head, so it cannot route tickets to departments",
    CATEGORY: "no category head",
}


class MissingRole(BadInput):
    """Something needs a role head (department, category) the active model does not have."""

    def __init__(self, role: str, what: str) -> None:
        super().__init__(f"{what} needs a {role} head, and the active model has {_WHY[role]}.")
        self.role = role


def default_heads() -> tuple[str, ...]:
    """The heads the project's own taxonomy (data/taxonomy.json, shipped as triage.data)
    lists: the label columns a data file without a stated head list is read for."""
    from triage.settings import bundled_data

    raw = _read(bundled_data() / TAXONOMY_FILE) or {}
    return tuple(raw.get("heads") or ())


def role_columns(labels: Mapping[str, str | None]) -> dict[str, str | None]:
    """The storage columns of the role heads from a ticket's labels (None: no such head)."""
    return {role: labels.get(role) for role in ROLES}


@dataclass(frozen=True)
class Heads:
    """The heads of one model: their labels (model order) and how to show them.

    ``names``: head -> label -> display name; ``head_names``: head -> its display name;
    ``time_limits``: category label -> working days (only those the taxonomies give);
    ``fallback``: head -> fallback label (the department one matters).
    """

    labels: Mapping[str, tuple[str, ...]]
    names: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    head_names: Mapping[str, str] = field(default_factory=dict)
    time_limits: Mapping[str, int] = field(default_factory=dict)
    fallback: Mapping[str, str] = field(default_factory=dict)

    # -- which heads ---------------------------------------------------------------------
    def __iter__(self) -> Iterator[str]:
        return iter(self.labels)

    def __contains__(self, head: object) -> bool:
        return head in self.labels

    def __len__(self) -> int:
        return len(self.labels)

    @property
    def has_department(self) -> bool:
        return DEPARTMENT in self.labels

    @property
    def has_category(self) -> bool:
        return CATEGORY in self.labels

    @property
    def extras(self) -> tuple[str, ...]:
        """Heads that play no role (kind, urgency, ...)."""
        return tuple(h for h in self.labels if h not in ROLES)

    def require(self, role: str, what: str) -> None:
        """Raise MissingRole (a sentence saying ``what`` cannot be done) without ``role``."""
        if role not in self.labels:
            raise MissingRole(role, what)

    def unknown(self, heads: Iterable[str]) -> list[str]:
        """Of ``heads``, those this model does not have."""
        return [h for h in heads if h not in self.labels]

    def known(self) -> dict[str, list[str]]:
        """head -> its labels, as plain lists."""
        return {h: list(labs) for h, labs in self.labels.items()}

    # -- how to show and time them -------------------------------------------------------
    def name(self, head: str, label: str | None) -> str:
        if label is None:
            return ""
        return self.names.get(head, {}).get(label, label)

    def head_name(self, head: str) -> str:
        return self.head_names.get(head, head)

    def time_limit(
        self, category: str | None, default: int, overrides: Mapping[str, int] | None = None
    ) -> int:
        """Working days to answer: an override, else the taxonomy's, else ``default`` (also
        for a model without a category head)."""
        if category is None:
            return default
        return (overrides or {}).get(category, self.time_limits.get(category, default))

    @property
    def fallback_department(self) -> str | None:
        return self.fallback.get(DEPARTMENT)

    def routing(self, labels: Mapping[str, str | None]) -> dict[str, str | None]:
        """``labels`` restricted to this model's heads, in model order."""
        return {h: labels.get(h) for h in self.labels}


# -- building ---------------------------------------------------------------------------


def _read(path: Path) -> dict[str, Any] | None:
    if not path.is_file():
        return None
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise BadInput(f"The taxonomy {path} cannot be read: {exc}.") from exc
    if not isinstance(raw, dict) or not isinstance(raw.get("heads", {}), dict):
        raise BadInput(f"The taxonomy {path} is not in the format of data/taxonomy.json.")
    return raw


def model_taxonomy(folder: Path | None, default: Path | None) -> dict[str, Any]:
    """The taxonomy that applies to the model in ``folder``: its own ``taxonomy.json``
    where it says something, else ``default`` (data/taxonomy.json) for what it knows.
    Same format as data/taxonomy.json; a label neither knows is shown by its id."""
    base = _read(default) if default is not None else None
    own = _read(folder / TAXONOMY_FILE) if folder is not None else None
    merged: dict[str, Any] = {"heads": {}, "fallback": {}}
    for source in (base, own):  # the model's own file last: it wins
        if source is None:
            continue
        merged["fallback"].update(source.get("fallback") or {})
        for head, spec in (source.get("heads") or {}).items():
            if not isinstance(spec, dict):
                continue
            into = merged["heads"].setdefault(head, {"labels": {}})
            if spec.get("name"):
                into["name"] = spec["name"]
            for label, info in (spec.get("labels") or {}).items():
                if isinstance(info, dict):
                    into["labels"][str(label)] = {**into["labels"].get(str(label), {}), **info}
    if own is not None and "fallback" in own:
        merged["fallback"] = dict(own.get("fallback") or {})  # the model's own, not mixed
    return merged


def heads_of(
    labels: Mapping[str, Iterable[str]],
    taxonomy: Mapping[str, Any] | None = None,
    fallback_department: str = "",
) -> Heads:
    """The Heads of a model with ``labels`` (head -> its labels, e.g. from its card or
    ``{h: m.labels for h, m in model.heads_.items()}``), named by ``taxonomy``
    (:func:`model_taxonomy`). ``fallback_department`` (a setting) overrides the taxonomy's."""
    tax = taxonomy or {}
    specs: Mapping[str, Any] = tax.get("heads") or {}
    labs = {str(h): tuple(str(x) for x in ls) for h, ls in labels.items()}
    names: dict[str, dict[str, str]] = {}
    head_names: dict[str, str] = {}
    limits: dict[str, int] = {}
    for head, own in labs.items():
        spec = specs.get(head) or {}
        info = spec.get("labels") or {}
        names[head] = {lab: str((info.get(lab) or {}).get("name") or lab) for lab in own}
        head_names[head] = str(spec.get("name") or head)
        if head == CATEGORY:
            for lab in own:
                days = (info.get(lab) or {}).get("time_limit_days")
                if isinstance(days, int) and days > 0:
                    limits[lab] = days
    fallback = {str(k): str(v) for k, v in (tax.get("fallback") or {}).items() if k in labs}
    if fallback_department and DEPARTMENT in labs:
        fallback[DEPARTMENT] = fallback_department
    return Heads(labs, names, head_names, limits, fallback)


def labels_of_model(model: ServingModel) -> dict[str, list[str]]:
    """head -> labels of a loaded model, in its own order."""
    return {h: list(m.labels) for h, m in model.heads_.items()}


def labels_of_card(card: Mapping[str, Any]) -> dict[str, list[str]]:
    """head -> labels as a model card records them (no need to load the arrays)."""
    heads = card.get("heads") or {}
    return {str(h): [str(x) for x in (spec or {}).get("labels", [])] for h, spec in heads.items()}


def of_folder(
    folder: Path | None,
    labels: Mapping[str, Iterable[str]],
    data_dir: Path | None,
    fallback_department: str = "",
) -> Heads:
    """The Heads of the model in ``folder`` (with ``labels``), named by its taxonomy.json
    and the project's (``data_dir``/taxonomy.json); refused (BadInput, one sentence) when
    the fallback department is not one of its departments: nothing sent back twice or
    routed while unsure could be delivered."""
    default = data_dir / TAXONOMY_FILE if data_dir is not None else None
    heads = heads_of(labels, model_taxonomy(folder, default), fallback_department)
    fallback = heads.fallback_department
    if fallback is not None and fallback not in heads.labels.get(DEPARTMENT, ()):
        where = (
            "TRIAGE_FALLBACK_DEPARTMENT"
            if fallback_department
            else f"the fallback of {TAXONOMY_FILE} (next to the model, or the project's)"
        )
        known = ", ".join(heads.labels[DEPARTMENT][:12])
        raise BadInput(
            f"The fallback department {fallback!r} ({where}) is not a department of the model "
            f"{folder.name if folder else ''}; set one of: {known}."
        )
    return heads


def dress(model: ServingModel, heads: Heads) -> ServingModel:
    """Give the loaded ``model`` the display names and fallback of ``heads`` (taxonomies are
    edited after training; the served answer shows what they say now)."""
    for h, m in model.heads_.items():
        m.names = dict(heads.names.get(h, {}))
    model.fallback = dict(heads.fallback)
    return model
