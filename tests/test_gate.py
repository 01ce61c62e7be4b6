"""The promotion gate's per-department recall rule: a drop refuses only when it is larger than
allowed AND significant on the paired predictions (tiny departments lose a row by chance)."""

from types import SimpleNamespace

import numpy as np

from triage.engine.heads import DEPARTMENT
from triage.service.gate import compare, paired_drops


class Fixed:
    """A stand-in model answering a fixed department per row (rows carry their index)."""

    def __init__(self, answers: list[str], classes: list[str]):
        self.answers, self.classes = answers, classes
        self.heads = [DEPARTMENT]
        self.heads_ = {DEPARTMENT: SimpleNamespace(classes=np.array(classes))}

    def predict_proba(self, items):
        proba = np.zeros((len(items), len(self.classes)))
        for r, item in enumerate(items):
            proba[r, self.classes.index(self.answers[item["i"]])] = 1.0
        return {DEPARTMENT: proba}


def _gate(labels, before, after):
    classes = sorted(set(labels))
    items = [{"i": i} for i in range(len(labels))]
    return compare(Fixed(before, classes), Fixed(after, classes), items, {DEPARTMENT: labels}, 0.02, 0.05)


def _taxonomy(small: int):
    """20 departments of 50 rows each, then one of ``small`` rows; the active model is right."""
    labels = [f"d{k:02d}" for k in range(20) for _ in range(50)] + ["small"] * small
    return labels, list(labels)


def test_a_small_department_losing_one_row_of_five_passes():
    labels, before = _taxonomy(5)
    after = list(before)
    after[-1] = "d00"  # recall of "small": 1.0 -> 0.8, a drop of 0.20 > 0.05
    result = _gate(labels, before, after)
    assert result.passed, result.reasons
    assert result.heads[DEPARTMENT]["paired"]["small"] == {"b": 1, "c": 0, "p": 0.5, "q": 1.0}
    assert "small" in result.table() and "(b 1, c 0, p 0.500" in result.table()


def test_a_large_department_losing_clearly_is_refused():
    labels, before = _taxonomy(5)
    labels += ["big"] * 100
    before += ["big"] * 100
    after = list(before)
    for r in range(len(labels) - 40, len(labels)):
        after[r] = "d00"  # recall of "big": 1.0 -> 0.6
    result = _gate(labels, before, after)
    assert not result.passed
    recall = [r for r in result.reasons if r.startswith("recall of big drops by 0.400")]
    assert recall and "b 40, c 0" in recall[0]
    assert not any("small" in r for r in result.reasons)


def test_rows_won_back_offset_rows_lost():
    # b = 6 lost, c = 6 won in a 60-row department: the same recall, p far from significant.
    right_before = np.array([True] * 6 + [False] * 6 + [True] * 48)
    right_after = np.array([False] * 6 + [True] * 6 + [True] * 48)
    t = paired_drops(["x"] * 60, right_before, right_after, 5)["x"]
    assert (t["b"], t["c"]) == (6, 6) and t["p"] > 0.5
    # A department under min_support is not tested at all.
    assert paired_drops(["x"] * 4, right_before[:4], right_after[:4], 5) == {}


def test_macro_f1_noise_from_a_few_rare_rows_passes_a_clear_loss_is_refused():
    # 60 departments of 3 rows: the candidate trades rows of rare departments back and forth,
    # losing a little more than it wins (8 rows against 3: macro-F1 -0.021, more than the
    # 0.02 allowed, bootstrap p about 0.1).
    labels = [f"d{k:02d}" for k in range(60) for _ in range(3)]
    before, after = list(labels), list(labels)
    for r in range(8):
        after[3 * r] = "d59"
    for r in range(20, 23):
        before[3 * r] = "d59"
    result = _gate(labels, before, after)
    drop = result.heads[DEPARTMENT]["active"]["macro_f1"] - result.heads[DEPARTMENT]["candidate"]["macro_f1"]
    assert drop > 0.02 and result.heads[DEPARTMENT]["macro_f1_drop_p"] >= 0.05
    assert result.passed, result.reasons
    for r in range(0, 90):  # now half of all rows go wrong
        after[r] = "d59"
    result = _gate(labels, before, after)
    assert not result.passed
    assert any(r.startswith("department macro-F1 drops by") and "bootstrap p" in r for r in result.reasons)
    assert "bootstrap p" in result.table()
