"""Words and numbers as the pages show them: Chinese names, local times, percentages."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from triage.engine.text import mask, normalize
from triage.web.pages.blueprint import bp
from triage.web.state import settings
from triage.web.taxonomy import heads

__all__ = ["head_name", "head_view", "label_name", "label_options", "local_time", "masked_body"]

REASONS = {"uncertain": "不确定", "quality_check": "抽检", "returned": "退单", "returned_twice": "两次退单"}
STATUSES = {
    "received": "已接收",
    "dispatched": "已派发",
    "accepted": "已签收",
    "replied": "已答复",
    "closed": "已办结",
}
EVENTS = {**STATUSES, "rerouted": "改派", "returned": "退单"}
CHANNELS = {"web": "网站", "window": "窗口", "phone": "电话", "app": "移动端"}


def masked_body(title: str | None, text_masked: str) -> str:
    """The masked text without the title it starts with (pages show the title on its own)."""
    if title:
        head = mask(normalize(title)) + "。"
        if text_masked.startswith(head):
            return text_masked[len(head) :]
    return text_masked


def label_name(head: str, label: str | None) -> str:
    return heads().name(head, label) if label else "—"


def head_name(head: str) -> str:
    """A head as people call it (the taxonomy's name of the head, else its id)."""
    return heads().head_name(head)


def label_options(head: str, labels: list[str], current: str | None = None) -> list[tuple[str, str]]:
    """(label, name) in the model's order; ``current`` is kept even if the model lacks it."""
    known = list(labels)
    if current and current not in known:
        known.append(current)
    return [(lab, label_name(head, lab)) for lab in known]


def local_time(value: datetime | None) -> str:
    if value is None:
        return "—"
    return value.astimezone(ZoneInfo(settings().timezone)).strftime("%Y-%m-%d %H:%M")


def percent(value: float | None) -> str:
    return "—" if value is None else f"{round(float(value) * 100)}%"


def _named(head: str, entries: list[dict[str, Any]] | None) -> list[dict[str, Any]]:
    return [{**e, "name": label_name(head, e["label"])} for e in entries or []]


def head_view(prediction: dict[str, Any], head: str) -> dict[str, Any] | None:
    """One head of a stored prediction, with taxonomy names (the model's own may be older)."""
    entry = prediction.get(head)
    if not entry:
        return None
    suggested = entry.get("suggested")
    return {
        "head": head,
        "head_name": head_name(head),
        "label": entry["label"],
        "name": label_name(head, entry["label"]),
        "confidence": float(entry.get("confidence", 0.0)),
        "needs_review": bool(entry.get("needs_review")),
        "fallback": bool(entry.get("fallback")),
        "suggested": suggested,
        "suggested_name": label_name(head, suggested) if suggested else None,
        "verified": bool(entry.get("verified")),
        "alternatives": _named(head, entry.get("alternatives")),
        "candidates": _named(head, entry.get("candidates")),
        "reasons": list(entry.get("reasons") or []),
    }


@bp.context_processor
def _words() -> dict[str, Any]:
    served = heads()
    return {
        # The served model's heads, in its order, and what people call them.
        "HEADS": list(served),
        "HEAD_NAMES": {h: served.head_name(h) for h in served},
        "REASONS": REASONS,
        "STATUSES": STATUSES,
        "EVENTS": EVENTS,
        "CHANNELS": CHANNELS,
        "label_name": label_name,
        "local_time": local_time,
        "percent": percent,
    }
