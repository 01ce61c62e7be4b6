import json
import shutil

import numpy as np
import pytest
from sklearn.exceptions import NotFittedError

from triage.engine.calibration import softmax
from triage.engine.model import TriageModel, as_document
from triage.engine.persist import ARTIFACT, CARD
from triage.errors import ModelRefused

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


def test_fast_path_equals_sklearn_pipeline(tiny_model):
    """route() scores with its own sparse dot product; it must match sklearn's exactly."""
    F = tiny_model.featurizer_.transform([as_document(t) for t in TEXTS])
    for i, text in enumerate(TEXTS):
        fast = tiny_model.route(text)
        for head, m in tiny_model.heads_.items():
            reference = softmax(m.scores(F[i]), m.temperature)[0]
            top = int(np.argmax(reference))
            assert fast[head].get("suggested", fast[head]["label"]) == m.classes[top]
            assert fast[head]["confidence"] == pytest.approx(reference[top], abs=1e-4)


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
    threshold = tiny_model.heads_["department"].review["threshold"]
    assert (dept["confidence"] >= threshold) != dept["needs_review"]


def test_reasons_are_terms_of_the_text(tiny_model):
    result = tiny_model.route("食品经营许可证现场核查一直没人来")
    reasons = result["category"]["reasons"]
    assert reasons
    assert all(r in as_document("食品经营许可证现场核查一直没人来") for r in reasons)


def test_save_load_round_trip_gives_identical_predictions(tiny_model, tiny_model_dir):
    loaded = TriageModel.load(tiny_model_dir)
    assert [loaded.route(t) for t in TEXTS] == [tiny_model.route(t) for t in TEXTS]


def test_card_records_what_a_reader_needs(tiny_model_dir):
    card = json.loads((tiny_model_dir / CARD).read_text())
    assert card["packages"]["scikit-learn"]
    head = card["heads"]["department"]
    assert head["labels"] and head["fallback"] == "general_office"
    assert 0 < head["review"]["threshold"] <= 1
    assert head["candidates"]["target_coverage"] == 0.9
    assert 0 <= head["metrics"]["macro_f1"] <= 1
    assert set(head["metrics"]["per_class"]) == set(head["labels"])


def test_tampered_artifact_is_refused(tiny_model_dir, tmp_path):
    copy = tmp_path / "copy"
    shutil.copytree(tiny_model_dir, copy)
    with open(copy / ARTIFACT, "ab") as fh:
        fh.write(b"\0")
    with pytest.raises(ModelRefused, match="does not match its card"):
        TriageModel.load(copy)


def test_model_made_by_another_sklearn_is_refused(tiny_model_dir, tmp_path):
    copy = tmp_path / "copy"
    shutil.copytree(tiny_model_dir, copy)
    card = json.loads((copy / CARD).read_text())
    card["packages"]["scikit-learn"] = "0.24.2"
    (copy / CARD).write_text(json.dumps(card))
    with pytest.raises(ModelRefused, match=r"scikit-learn 0\.24\.2"):
        TriageModel.load(copy)


def test_folder_without_card_is_refused(tmp_path):
    with pytest.raises(ModelRefused, match="not a model folder"):
        TriageModel.load(tmp_path)


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
