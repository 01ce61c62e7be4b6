"""The compact dictionary must cut exactly as jieba's own lcut(HMM=False) does."""

from __future__ import annotations

import csv
import logging
import warnings

import pytest
from paths import PROJECT_ROOT

from triage.engine import segment
from triage.engine.segment import Dictionary
from triage.engine.text import _PLACEHOLDER_SPLIT, dictionary, prepare

DATA = PROJECT_ROOT / "data"
USERDICT = tuple((DATA / "userdict.txt").read_text(encoding="utf-8").splitlines())


def project_texts() -> list[str]:
    out: list[str] = []
    for path in sorted(DATA.glob("**/*.csv")):
        with open(path, encoding="utf-8") as fh:
            out.extend(f"{r.get('title') or ''} {r.get('text') or ''}" for r in csv.DictReader(fh))
    return out


def jieba_tokenizer(userdict: tuple[str, ...]):
    """jieba itself, the reference: its Tokenizer with the same user dictionary lines."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # jieba 0.42.1 imports the deprecated pkg_resources
        import jieba
    logging.getLogger("jieba").setLevel(logging.WARNING)
    tk = jieba.Tokenizer()
    tk.initialize()
    for line in userdict:
        word, _, rest = line.partition(" ")
        tk.add_word(word, int(rest.split()[0]) if rest.split() else None)
    return tk


@pytest.fixture(scope="module")
def jb():
    return jieba_tokenizer(USERDICT)


@pytest.fixture(scope="module")
def ours():
    return dictionary(USERDICT)


def test_patterns_are_jiebas_own(jb):
    import jieba

    assert segment.RE_HAN.pattern == jieba.re_han_default.pattern
    assert segment.RE_SKIP.pattern == jieba.re_skip_default.pattern
    assert segment.RE_ENG.pattern == jieba.re_eng.pattern


def test_every_project_text_is_cut_as_jieba_cuts_it(jb, ours):
    texts = project_texts()
    assert len(texts) > 2500
    pieces = [p for t in texts for doc in (t, prepare(t)) for p in _PLACEHOLDER_SPLIT.split(doc)]
    differ = [p for p in pieces if ours.lcut(p) != jb.lcut(p, HMM=False)]
    assert differ == []


def test_the_dictionary_survives_its_bytes(ours):
    trie, logp = ours.to_bytes()
    copy = Dictionary.from_bytes(trie, logp, ours.logtotal, ours.maxlen)
    text = project_texts()[0]
    assert copy.lcut(text) == ours.lcut(text)
    assert len(trie) + len(logp) < 8_000_000  # jieba's own dict costs some 70 MB in memory


def test_user_words_without_a_frequency_are_suggested_one_as_jieba_does():
    lines = ("核查一直没人来", "现场核查", "营业执照 3000 n", "窗口只开两个")
    jb, ours = jieba_tokenizer(lines), Dictionary.build(lines)
    for text in ("食品经营许可证现场核查一直没人来", "窗口只开两个，排队等了两个小时", "营业执照"):
        assert ours.lcut(text) == jb.lcut(text, HMM=False)
    assert ours.lcut("现场核查一直没人来") != Dictionary.build(()).lcut("现场核查一直没人来")


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
def test_edge_cases_match_jieba(jb, ours, text):
    assert ours.lcut(text) == jb.lcut(text, HMM=False)
