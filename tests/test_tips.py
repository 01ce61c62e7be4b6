import json
from collections import Counter
from datetime import date

import pytest
from paths import PROJECT_ROOT

from triage.engine.data import load_taxonomy
from triage.errors import BadInput
from triage.service.tips import TipBook

DATA = PROJECT_ROOT / "data"
TODAY = date(2026, 11, 26)


@pytest.fixture(scope="module")
def book() -> TipBook:
    return TipBook.load(DATA / "tips")


def test_every_category_has_at_least_three_valid_tips(book):
    categories = load_taxonomy(DATA / "taxonomy.json").labels("category")
    valid = Counter(t.category for t in book.tips if t.valid_on(TODAY))
    assert all(valid[c] >= 3 for c in categories), valid
    assert sum(valid.values()) >= 40


def test_tips_name_real_departments_and_have_content(book):
    departments = set(load_taxonomy(DATA / "taxonomy.json").labels("department"))
    for tip in book.tips:
        assert tip.department in departments, tip.id
        assert len(tip.answer) >= 80, tip.id


def test_ranking_prefers_the_matching_tip(book):
    best = book.best("food_license", "食品经营许可证快到期了，续期要提前多久申请", TODAY)
    assert 1 <= len(best) <= 3
    assert "续" in best[0][0].title or "延续" in best[0][0].answer
    scores = [s for _, s in best]
    assert scores == sorted(scores, reverse=True)


def test_expired_tips_are_never_served(book):
    expired = [t for t in book.tips if not t.valid_on(TODAY)]
    assert expired, "the data keeps at least one expired tip to show this"
    for tip in expired:
        served = book.best(tip.category, tip.title + tip.answer, TODAY, k=10)
        assert tip.id not in {t.id for t, _ in served}


def test_a_tip_becomes_servable_only_from_its_start_date(tmp_path):
    tip = {
        "id": "x-1",
        "category": "tax",
        "department": "tax_bureau",
        "title": "新规",
        "answer": "从明年起施行。",
        "valid_from": "2027-01-01",
        "valid_until": None,
    }
    (tmp_path / "tax.json").write_text(json.dumps([tip]), encoding="utf-8")
    book = TipBook.load(tmp_path)
    assert book.best("tax", "新规", TODAY) == []
    assert [t.id for t, _ in book.best("tax", "新规", date(2027, 1, 1))] == ["x-1"]


def test_malformed_tips_file_is_a_clear_error(tmp_path):
    (tmp_path / "tax.json").write_text('[{"id": "x"}]', encoding="utf-8")
    with pytest.raises(BadInput, match="lacks"):
        TipBook.load(tmp_path)


def test_tip_scores_are_scikit_learns_tfidf_similarity(book):
    """The index is plain dicts (no scikit-learn in a worker) but scores as TfidfVectorizer does."""
    import csv

    from sklearn.feature_extraction.text import TfidfVectorizer

    from triage.engine.text import normalize

    vec = TfidfVectorizer(analyzer="char", ngram_range=(1, 2), sublinear_tf=True)
    matrix = vec.fit_transform(
        [normalize(" ".join((t.title, t.answer, *t.keywords, *t.keywords))) for t in book.tips]
    )
    with open(DATA / "eval" / "handwritten.csv", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))[:80]
    compared = 0
    for row in rows:
        reference = (matrix @ vec.transform([normalize(row["text"])]).T).toarray().ravel()
        for tip, score in book.best(row["category"], row["text"], TODAY, k=100):
            assert score == pytest.approx(reference[book.tips.index(tip)], abs=1e-12)
            compared += 1
    assert compared > 100
