"""Which project data a model may be retrained on: labels it never saw only in the held-out tenth are fine."""

from __future__ import annotations

import csv

import pytest

from triage.engine.heads import heads_of
from triage.engine.training import in_holdout
from triage.errors import BadInput
from triage.service.retrain import base_data
from triage.settings import load_settings


def _project(tmp_path, rows):
    (tmp_path / "messages").mkdir()
    with open(tmp_path / "messages" / "m.csv", "w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=["id", "text", "department"])
        writer.writeheader()
        writer.writerows(rows)
    return load_settings({"data_dir": str(tmp_path)})


def _ids(held: bool, n: int) -> list[str]:
    found = (f"r{i}" for i in range(10_000) if in_holdout(f"r{i}") == held)
    return [next(found) for _ in range(n)]


def test_a_label_only_in_the_held_out_tenth_is_not_foreign(tmp_path):
    rows = [{"id": i, "text": "窗口排队太久", "department": "service_center"} for i in _ids(False, 20)]
    rows += [{"id": i, "text": "税务发票", "department": "tax_bureau"} for i in _ids(True, 2)]
    settings = _project(tmp_path, rows)
    data = base_data(settings, heads_of({"department": ["service_center"]}))
    assert len(data) == 22  # the held-out rows stay for the gate


def test_a_label_the_model_never_had_in_its_train_part_is_refused(tmp_path):
    rows = [{"id": i, "text": "窗口排队太久", "department": "service_center"} for i in _ids(False, 20)]
    rows += [{"id": i, "text": "税务发票", "department": "tax_bureau"} for i in _ids(False, 2)]
    settings = _project(tmp_path, rows)
    with pytest.raises(BadInput, match="tax_bureau"):
        base_data(settings, heads_of({"department": ["service_center"]}))
