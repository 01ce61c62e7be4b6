"""The centre's prepared answer tips (data/tips/*.json), served by category and similarity."""

from __future__ import annotations

import json
import math
import re
from collections import Counter
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from triage.engine.scoring import char_ngrams
from triage.engine.text import normalize
from triage.errors import BadInput

__all__ = ["Tip", "TipBook"]

REQUIRED = ("id", "category", "department", "title", "answer", "valid_from")


@dataclass(frozen=True)
class Tip:
    id: str
    category: str
    department: str
    title: str
    answer: str
    materials: tuple[str, ...]
    valid_from: date
    valid_until: date | None
    keywords: tuple[str, ...]

    def valid_on(self, day: date) -> bool:
        return self.valid_from <= day and (self.valid_until is None or day <= self.valid_until)

    def as_json(self, department_name: str, score: float) -> dict[str, Any]:
        return {
            "id": self.id,
            "title": self.title,
            "answer": self.answer,
            "materials": list(self.materials),
            "department": {"id": self.department, "name": department_name},
            "valid_until": self.valid_until.isoformat() if self.valid_until else None,
            "score": round(score, 4),
        }


def _parse(raw: dict[str, Any], source: Path) -> Tip:
    missing = [k for k in REQUIRED if not raw.get(k)]
    if missing:
        raise BadInput(f"A tip in {source} lacks {missing[0]!r}.")
    try:
        until = raw.get("valid_until")
        return Tip(
            id=str(raw["id"]),
            category=str(raw["category"]),
            department=str(raw["department"]),
            title=str(raw["title"]),
            answer=str(raw["answer"]),
            materials=tuple(str(m) for m in raw.get("materials") or ()),
            valid_from=date.fromisoformat(raw["valid_from"]),
            valid_until=date.fromisoformat(until) if until else None,
            keywords=tuple(str(k) for k in raw.get("keywords") or ()),
        )
    except (TypeError, ValueError) as exc:
        raise BadInput(f"Tip {raw.get('id')!r} in {source} is malformed: {exc}.") from exc


_SPACES = re.compile(r"\s\s+")


def _grams(text: str) -> Counter[str]:
    return Counter(char_ngrams(_SPACES.sub(" ", text), 1, 2))


class TipBook:
    """All tips, with a small character n-gram TF-IDF index to rank them against a message
    (1-2 grams, sublinear tf, smoothed idf, l2 rows: what scikit-learn's TfidfVectorizer
    computes, in a few dicts, so a web worker needs no scikit-learn)."""

    def __init__(self, tips: list[Tip]) -> None:
        self.tips = tips
        docs = [_grams(normalize(" ".join((t.title, t.answer, *t.keywords, *t.keywords)))) for t in tips]
        df = Counter(g for doc in docs for g in doc)
        self._idf = {g: math.log((1 + len(docs)) / (1 + n)) + 1.0 for g, n in df.items()}
        self._vectors = [self._vector(doc) for doc in docs]

    def _vector(self, grams: Counter[str]) -> dict[str, float]:
        weights = {g: (1.0 + math.log(n)) * self._idf[g] for g, n in grams.items() if g in self._idf}
        norm = math.sqrt(sum(w * w for w in weights.values()))
        return {g: w / norm for g, w in weights.items()} if norm else {}

    @classmethod
    def load(cls, folder: Path) -> TipBook:
        tips: list[Tip] = []
        for path in sorted(folder.glob("*.json")):
            try:
                items = json.loads(path.read_text(encoding="utf-8"))
            except ValueError as exc:
                raise BadInput(f"The tips file {path} is not valid JSON: {exc}.") from exc
            tips.extend(_parse(item, path) for item in items)
        ids = [t.id for t in tips]
        if len(ids) != len(set(ids)):
            raise BadInput(f"Tip ids in {folder} are not unique.")
        return cls(tips)

    def best(self, category: str | None, text: str, today: date, k: int = 3) -> list[tuple[Tip, float]]:
        """Up to ``k`` tips of ``category`` valid ``today``, most similar to ``text`` first.
        Without a category (a model with no category head), every valid tip is ranked by the
        text alone, and only those sharing something with it are given."""
        rows = [
            i
            for i, t in enumerate(self.tips)
            if (category is None or t.category == category) and t.valid_on(today)
        ]
        if not rows:
            return []
        query = self._vector(_grams(normalize(text)))
        scores = [sum(w * self._vectors[i].get(g, 0.0) for g, w in query.items()) for i in rows]
        ranked = sorted(zip(rows, scores, strict=True), key=lambda rs: (-rs[1], self.tips[rs[0]].id))
        if category is None:
            ranked = [(i, s) for i, s in ranked if s > 0]
        return [(self.tips[i], float(s)) for i, s in ranked[:k]]
