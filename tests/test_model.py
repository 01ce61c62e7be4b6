import csv
import itertools
import json

import numpy as np
import pytest
from paths import PROJECT_ROOT
from sklearn.exceptions import NotFittedError

from triage.engine.calibration import block_agreement, review_scores, routed_alone, softmax
from triage.engine.model import TriageModel, as_document
from triage.engine.persist import CARD, load_model
from triage.engine.scoring import _readable, agree_weights, char_ngrams, word_ngrams
from triage.engine.text import tokenize

DATA = PROJECT_ROOT / "data"
TEXTS = [
    "我想开一家奶茶店，营业执照怎么办？",
    "窗口只开两个，排队等了两个小时！",
    "一網通辦上傳附件一直失敗，請處理",
    "公司要注销，清算组备案在哪里办",
]


def test_unfitted_model_raises_not_fitted():
    with pytest.raises(NotFittedError):
        TriageModel().predict(["营业执照"])
    with pytest.raises(NotFittedError):
        TriageModel().route("营业执照")


def test_fit_returns_self_and_learns_every_head(tiny_data):
    model = TriageModel(cv=2)
    assert model.fit(tiny_data.items, tiny_data.labels) is model
    assert model.heads == ["category", "department", "kind"]
    assert model.predict(TEXTS).shape == (len(TEXTS), 3)


def test_heads_come_from_the_data_not_a_fixed_list(tiny_data):
    labels = {"topic": tiny_data.labels["category"]}
    model = TriageModel(cv=2).fit(tiny_data.items, labels)
    assert model.heads == ["topic"]
    assert set(model.route(TEXTS[0])) == {"topic", "needs_review", "model_version"}


def test_prediction_object_has_the_documented_shape(tiny_model):
    result = tiny_model.route({"text": TEXTS[0], "title": "咨询"})
    for head in ("category", "department", "kind"):
        h = result[head]
        assert {"label", "name", "confidence", "alternatives", "candidates", "reasons"} <= set(h)
        assert 0.0 <= h["confidence"] <= 1.0
        assert len(h["alternatives"]) == min(3, len(tiny_model.heads_[head].classes) - 1)
        assert all(a["label"] != h.get("suggested", h["label"]) for a in h["alternatives"])
        assert h["candidates"], "a candidate set is never empty"
    assert isinstance(result["needs_review"], bool)
    assert result["model_version"] == tiny_model.version_


def test_names_come_from_the_taxonomy(tiny_model):
    result = tiny_model.route(TEXTS[3])
    assert result["kind"]["name"] in {"纠错", "咨询", "建议", "投诉"}


def project_items() -> list[dict[str, str]]:
    """Every text of the project's data: data/messages/*.csv and data/eval/handwritten.csv."""
    paths = [*sorted((DATA / "messages").glob("*.csv")), DATA / "eval" / "handwritten.csv"]
    items = []
    for path in paths:
        with open(path, encoding="utf-8") as fh:
            items.extend({"title": r.get("title") or "", "text": r["text"]} for r in csv.DictReader(fh))
    return items


def runner_ups(proba: np.ndarray, factors: np.ndarray | None) -> np.ndarray:
    """The runner-up reweighting, row by row: the top label keeps its probability, the
    others share the rest in proportion to p times the top label's factors, unless one of
    them would then reach the top."""
    if factors is None:
        return proba
    out = proba.copy()
    for i, p in enumerate(proba):
        top = int(p.argmax())
        others = [j for j in range(len(p)) if j != top]
        raw = {j: p[j] * factors[top, j] for j in others}
        q = {j: v * (1 - p[top]) / sum(raw.values()) for j, v in raw.items()}
        if max(q.values()) < p[top]:
            for j, v in q.items():
                out[i, j] = v
    return out


def sklearn_reference(model: TriageModel, items: list[dict[str, str]]):
    """Per head: probabilities, candidates and reasons computed from scikit-learn's own
    TfidfVectorizer and LinearSVC, as the model was trained."""
    docs = [as_document(x) for x in items]
    F = model.featurizer_.transform(docs)
    raw = [str(n) for n in model.featurizer_.feature_names()]
    names = [n.replace(" ", "") for n in raw]
    n_word = len(model.featurizer_.vectorizers_[0][1].vocabulary_)  # the word block comes first
    out = {}
    for head, m in model.heads_.items():
        proba = runner_ups(softmax(m.scores(F), m.temperature), m.follow)
        coef = (
            m.clf.coef_ if len(m.classes) > 2 else np.vstack([np.zeros_like(m.clf.coef_[0]), m.clf.coef_[0]])
        )
        rows = []
        for i in range(F.shape[0]):
            p = proba[i]
            order = sorted(range(len(p)), key=lambda j, p=p: -p[j])
            cands = [str(m.classes[j]) for j in order if p[j] >= 1.0 - m.conformal_q] or [
                str(m.classes[order[0]])
            ]
            row = F[i]
            text = docs[i].lower()
            words = {names[j] for j in row.indices if j < n_word and " " not in raw[j]}

            def whole(j, text=text, words=words):
                term = names[j]
                if len(term) < 2 or not _readable(term):
                    return False
                if j >= n_word:
                    return term in words
                parts = raw[j].split(" ")
                return len(parts) == 1 or (min(map(len, parts)) >= 2 and term in text)

            contrib = row.data * coef[order[0]][row.indices]
            ranked = [j for _, j in sorted(zip(-contrib, row.indices, strict=True)) if whole(j)]
            weight = dict(zip(row.indices, contrib, strict=True))
            reasons: list[str] = []
            for j in ranked:
                term = names[j]
                if weight[j] <= 0 or len(reasons) == model.n_reasons:
                    break
                if not any(term in r or r in term for r in reasons):
                    reasons.append(term)
            if not reasons and ranked:
                reasons = [names[ranked[0]]]
            rows.append({"label": str(m.classes[order[0]]), "candidates": cands, "reasons": reasons})
        out[head] = (proba, rows)
    return out


def test_served_model_equals_the_sklearn_pipeline_on_every_project_text(tiny_model, tiny_model_dir):
    """The loaded folder (numpy only) predicts what scikit-learn's pipeline does: labels,
    confidences to 1e-6, candidate sets and reasons, on every text of the project's data."""
    items = project_items()
    assert len(items) > 2500
    served = load_model(tiny_model_dir)
    reference = sklearn_reference(tiny_model, items)
    proba = served.predict_proba(items)
    routed = [served.route(x) for x in items]
    tops = tiny_model.block_tops(items)
    shares = []
    for head, (ref_proba, ref_rows) in reference.items():
        assert list(served.heads_[head].labels) == [str(c) for c in tiny_model.heads_[head].classes]
        assert np.abs(proba[head] - ref_proba).max() < 1e-6
        # The review rule, feature blocks' agreement included; rows on the boundary itself
        # (the two paths sum floats in another order) are left out.
        m = tiny_model.heads_[head]
        assert len(agree_weights(m.review)) == 2
        alone = routed_alone(ref_proba, m.review, m.review_offset, tops[head])
        agree = block_agreement(tops[head], ref_proba.argmax(axis=1))
        margin = review_scores(ref_proba, m.review_offset, agree, m.review)
        clear = np.abs(margin - m.review["margin_threshold"]) > 1e-9
        served_alone = np.array([not r[head]["needs_review"] for r in routed])
        assert served_alone[clear].tolist() == alone[clear].tolist()
        shares.append(alone.mean())
        for r, ref, p in zip(routed, ref_rows, ref_proba, strict=True):
            got = r[head]
            assert got.get("suggested", got["label"]) == ref["label"]
            assert [c["label"] for c in got["candidates"]] == ref["candidates"]
            assert got["reasons"] == ref["reasons"]
            assert abs(got["confidence"] - p.max()) <= 5e-5 + 1e-9  # rounded to 4 places
    assert sum(bool(r["category"]["reasons"]) for r in routed) > len(items) // 2
    assert max(shares) > 0 and min(shares) < 1, "both sides of the review rule were compared"


def _rounded(result, places=3):
    """Confidences to 3 places: the two paths sum floats in a different order."""
    if isinstance(result, dict):
        return {k: (round(v, places) if k == "confidence" else _rounded(v)) for k, v in result.items()}
    if isinstance(result, list):
        return [_rounded(x) for x in result]
    return result


def test_route_many_equals_route(tiny_model):
    batch = tiny_model.route_many(TEXTS)
    assert _rounded(batch) == _rounded([tiny_model.route(t) for t in TEXTS])


def test_unsure_department_falls_back_and_flags_review(tiny_model):
    result = tiny_model.route("嗯")
    dept = result["department"]
    if dept["needs_review"]:
        assert dept["label"] == "general_office" or dept.get("suggested") is None
        assert result["needs_review"]
    head = tiny_model.heads_["department"]
    proba = tiny_model.predict_proba(["嗯"])["department"]
    tops = tiny_model.block_tops(["嗯"])["department"]
    assert routed_alone(proba, head.review, head.review_offset, tops)[0] != dept["needs_review"]


def test_reasons_are_terms_of_the_text(tiny_model):
    result = tiny_model.route("食品经营许可证现场核查一直没人来")
    reasons = result["category"]["reasons"]
    assert reasons
    assert all(r in as_document("食品经营许可证现场核查一直没人来") for r in reasons)


def test_default_word_block_is_single_words(tiny_model_dir):
    """Word unigrams beside the character 1-3-grams (issue 15: word bigrams measured worse on
    TipDM and Haikou); the characters still carry the phrases."""
    blocks = load_model(tiny_model_dir).features.blocks
    assert [(b.analyzer, b.ngram) for b in blocks] == [("word", (1, 1)), ("char", (1, 3))]
    assert not any(" " in t for t in blocks[0].terms)


def test_reasons_are_whole_words_or_phrases_on_every_project_text(tiny_model_dir):
    """No fragment across a word boundary ("事指", "南里"): each reason is one of the text's
    jieba words, or two of them side by side as written; every head gives one when the text
    has a known word."""
    served = load_model(tiny_model_dir)
    vocabulary = set(served.features.blocks[0].terms)
    for item in project_items():
        doc = as_document(item)
        words = tokenize(doc, served.features.userdict, served.features.stopwords)
        pairs = {a + b for a, b in itertools.pairwise(words) if min(len(a), len(b)) >= 2}
        known = any(len(w) >= 2 and _readable(w) and w in vocabulary for w in words)
        for head, out in served.route(item).items():
            if not isinstance(out, dict):
                continue
            for r in out["reasons"]:
                assert r in words or (r in pairs and r in doc.lower()), (doc, head, r)
            assert out["reasons"] or not known, (doc, head)


def test_save_load_round_trip_gives_identical_predictions(tiny_model, tiny_model_dir):
    loaded = load_model(tiny_model_dir)
    assert [loaded.route(t) for t in TEXTS] == [tiny_model.route(t) for t in TEXTS]


def test_card_records_what_a_reader_needs(tiny_model_dir):
    card = json.loads((tiny_model_dir / CARD).read_text())
    assert card["packages"]["scikit-learn"] and card["artifact"]["file"] == "model.npz"
    head = card["heads"]["department"]
    assert head["labels"] and head["fallback"] == "general_office"
    assert 0 < head["review"]["threshold"] <= 1
    assert head["candidates"]["target_coverage"] == 0.9
    assert 0 <= head["metrics"]["macro_f1"] <= 1
    assert set(head["metrics"]["per_class"]) == set(head["labels"])


def test_verified_answers_return_the_reviewers_labels(tiny_data):
    model = TriageModel(cv=2).fit(tiny_data.items, tiny_data.labels)
    text = "这段话由审核员核实过"
    model.remember(
        [{"text": text}], {"category": ["other"], "department": ["general_office"], "kind": ["complaint"]}
    )
    result = model.route(text)
    assert result["category"]["label"] == "other" and result["category"]["verified"] is True
    assert result["category"]["confidence"] == 1.0 and not result["needs_review"]
    assert model.route_many([text])[0]["category"]["label"] == "other"
    assert "verified" not in model.route("营业执照怎么办")["category"]


def test_ngrams_are_every_slice_in_order():
    doc = "营业执照ABC 办理"
    low = doc.lower()
    for lo, hi in [(1, 3), (2, 3), (1, 1), (3, 5), (2, 20)]:
        expected = [low[i : i + n] for n in range(lo, hi + 1) for i in range(len(low) - n + 1)]
        assert char_ngrams(doc, lo, hi) == expected
    words = ["a", "b", "c", "d"]
    assert word_ngrams(words, 1, 3) == [*words, "a b", "b c", "c d", "a b c", "b c d"]
    assert word_ngrams(words, 2, 2) == ["a b", "b c", "c d"]
    assert char_ngrams("", 1, 3) == [] and word_ngrams([], 1, 2) == []


def test_explain_gives_the_same_answer_for_every_form_of_the_weight_rows(tiny_model_dir):
    """route() hands explain() every head's rows side by side; a caller may give them per
    head (benchmarks/engine.py) or not at all (looked up again): one answer."""
    served = load_model(tiny_model_dir)
    for text in [*TEXTS, "", "的的的"]:
        doc = as_document(text)
        idx, val, scores, rows = served._scored(doc)
        per_head = {h: rows[:, a:b] for h, (a, b) in served._spans.items()}
        answers = [served.explain(idx, val, scores, None, r, doc) for r in (rows, per_head, None)]
        assert answers[0] == answers[1] == answers[2] == served.route(text)


def test_block_tops_pick_each_blocks_best_class_and_skip_empty_blocks():
    from scipy import sparse

    from triage.engine.model import block_tops

    X = sparse.csr_matrix(np.array([[1.0, 0.0, 0.0, 2.0], [0.0, 0.0, 1.0, 0.0], [0.0, 0.0, 0.0, 0.0]]))
    coef = np.array([[1.0, 0.0, 0.0, -1.0], [0.0, 1.0, 1.0, 1.0]])  # 2 classes, blocks [0, 2) [2, 4)
    assert block_tops(X, coef, np.array([2])).tolist() == [[0, 1], [-1, 1], [-1, -1]]
    # A binary head keeps one row (class 1 against 0): class 1 wins a block when it scores above 0.
    assert block_tops(X, coef[1:] - 0.5, np.array([2])).tolist() == [[0, 1], [-1, 1], [-1, -1]]
