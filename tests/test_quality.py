"""The default taxonomy's quality floor: the model trained on data/ (less its held-out tenth)
routes data/eval/handwritten.csv, written apart from the training data, at 0.93 or better."""

import numpy as np
import pytest
from paths import PROJECT_ROOT

from triage.engine.data import read_labelled
from triage.engine.training import build_model, default_data_files, split_base
from triage.settings import load_settings

pytestmark = pytest.mark.slow


def test_default_model_on_handwritten_messages():
    conf = load_settings()
    train, _ = split_base(read_labelled(default_data_files(conf)))
    model = build_model(conf).fit(train.items, train.labels)
    held = read_labelled([PROJECT_ROOT / "data" / "eval" / "handwritten.csv"])
    predicted = model.predict(held.items)
    for column, head in enumerate(model.heads):
        if head in ("category", "department"):
            accuracy = float(np.mean(predicted[:, column] == np.array(held.labels[head])))
            assert accuracy >= 0.93, f"{head}: {accuracy:.3f} on the handwritten messages"
