"""Label audit: rows whose given label gets a low cross-validated probability while another
label gets a high one (the "confident learning" idea, without the dependency: with a few
thousand rows a ranked list for a person to read is what is needed)."""

from __future__ import annotations

from typing import Any

from triage.engine.data import Dataset
from triage.engine.model import TriageModel
from triage.engine.text import prepare

__all__ = ["suspicious_rows"]


def suspicious_rows(model: TriageModel, data: Dataset, max_given: float = 0.35) -> list[dict[str, Any]]:
    """Rows where p(given) < ``max_given`` and another label beats it, most suspicious first.
    ``model`` must have just been fitted on ``data`` (its ``oof_`` holds out-of-fold scores)."""
    out = []
    for head, (rows, proba) in model.oof_.items():
        classes = [str(c) for c in model.heads_[head].classes]
        for k, i in enumerate(rows):
            given = data.labels[head][i]
            p_given = float(proba[k, classes.index(given)])
            best = int(proba[k].argmax())
            if classes[best] != given and p_given < max_given:
                out.append(
                    {
                        "id": data.items[i]["id"],
                        "head": head,
                        "given": given,
                        "suggested": classes[best],
                        "p_given": round(p_given, 4),
                        "p_suggested": round(float(proba[k, best]), 4),
                        "text": prepare(data.items[i]["text"], data.items[i].get("title")),
                    }
                )
    return sorted(out, key=lambda r: r["p_suggested"] - r["p_given"], reverse=True)
