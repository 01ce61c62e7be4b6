"""The one-pass segmenter must cut exactly as jieba's own lcut(HMM=False) does."""

from __future__ import annotations

import csv

import pytest
from paths import PROJECT_ROOT

from triage.engine.segment import lcut_no_hmm
from triage.engine.text import _PLACEHOLDER_SPLIT, _tokenizer, prepare

DATA = PROJECT_ROOT / "data"


def project_texts() -> list[str]:
    out: list[str] = []
    for path in sorted(DATA.glob("**/*.csv")):
        with open(path, encoding="utf-8") as fh:
            out.extend(f"{r.get('title') or ''} {r.get('text') or ''}" for r in csv.DictReader(fh))
    return out


@pytest.fixture(scope="module")
def tk():
    userdict = tuple((DATA / "userdict.txt").read_text(encoding="utf-8").splitlines())
    return _tokenizer(userdict)


def test_every_project_text_is_cut_as_jieba_cuts_it(tk):
    texts = project_texts()
    assert len(texts) > 2500
    pieces = [p for t in texts for doc in (t, prepare(t)) for p in _PLACEHOLDER_SPLIT.split(doc)]
    differ = [p for p in pieces if lcut_no_hmm(tk, p) != tk.lcut(p, HMM=False)]
    assert differ == []


@pytest.mark.parametrize(
    "text",
    [
        "",
        " ",
        "\r\n\t",
        "abc DEF 123",
        "a1b2 c3",
        "营业执照2024年版ABC-123号",
        "食品经营许可证，现场核查！？",
        "C++与C#开发_测试.%",
        "沪A·12345 车牌",
        "😀 emoji 与 㐀 扩展字",
        "一",
        "的的的的的的的的",
        "长江大桥南京市长江大桥",
        "买了T恤3件，炒A股B股，用QQ号1个",  # dictionary words that start with a letter, then a digit
    ],
)
def test_edge_cases_match_jieba(tk, text):
    assert lcut_no_hmm(tk, text) == tk.lcut(text, HMM=False)
