"""Names and time limits from the taxonomy, for responses."""

from __future__ import annotations

from pathlib import Path

from triage.engine.data import Taxonomy, load_taxonomy
from triage.web.state import settings

__all__ = ["department_name", "taxonomy", "time_limits"]


def taxonomy() -> Taxonomy:
    return load_taxonomy(Path(settings().data_dir) / "taxonomy.json")


def department_name(label: str) -> str:
    return taxonomy().name("department", label)


def time_limits() -> dict[str, int]:
    labels = taxonomy().heads.get("category", {})
    return {c: int(v["time_limit_days"]) for c, v in labels.items() if "time_limit_days" in v}
