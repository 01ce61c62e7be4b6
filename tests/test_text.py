import time
import unicodedata

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from triage.engine.text import MAX_CHARS, _nfkc, mask, normalize, prepare, tokenize


def test_normalize_converts_traditional_and_full_width():
    assert normalize("營業執照辦理　ＡＢＣ１２３") == "营业执照办理 ABC123"


def test_normalize_strips_html_and_white_space():
    assert normalize("<p>排队 &amp;\n\n 等候</p>\t") == "排队 & 等候"


@pytest.mark.parametrize("text", ["", "   ", "\n\t　"])
def test_normalize_empty_and_blank(text):
    assert normalize(text) == ""


def test_very_long_text_is_truncated_quickly():
    text = "排队时间太长" * 20_000  # 120k chars
    started = time.perf_counter()
    out = normalize(text)
    assert len(out) == MAX_CHARS
    assert time.perf_counter() - started < 5  # generous: catches quadratic blow-ups only
    assert len(tokenize(prepare(text))) > 100


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("身份证11010519491231002X", "身份证[ID]"),
        ("手机13812345678", "手机[PHONE]"),
        ("手机 139-1234-5678 谢谢", "手机 [PHONE] 谢谢"),
        ("电话+86 138 1234 5678", "电话[PHONE]"),
        ("座机021-12345678", "座机[PHONE]"),
        ("座机(0755)23456789", "座机[PHONE]"),
        ("办公室电话 8555 2310", "办公室电话 [PHONE]"),
        ("联系电话：85552310", "联系电话：[PHONE]"),
        ("邮箱zhang.san@example.com。", "邮箱[EMAIL]。"),
        ("车牌沪A·12345", "车牌[PLATE]"),
        ("车牌粤B12345被贴条", "车牌[PLATE]被贴条"),
        ("新能源车京AD12345", "新能源车[PLATE]"),
        ("卡号6222021234567890123", "卡号[CARD]"),
        ("卡号 6222 0212 3456 7890", "卡号 [CARD]"),
    ],
)
def test_mask_every_form(raw, expected):
    assert mask(raw) == expected


def test_id_with_a_bad_checksum_is_not_called_an_id_but_still_hidden():
    out = mask("身份证110105194912310021")
    assert "[ID]" not in out
    assert "110105194912310021" not in out


def test_mask_keeps_ordinary_numbers():
    text = "受理编号20241105000123，等了2小时，排到A023号，费用300元，热线12345"
    assert mask(text) == text


def test_prepare_masks_after_normalizing_full_width_digits():
    assert prepare("電話：１３８１２３４５６７８") == "电话:[PHONE]"


def test_tokenize_keeps_domain_terms_and_placeholders():
    userdict = ("食品经营许可证 3000 n", "一网通办 3000 n")
    words = tokenize(prepare("办理食品经营许可证，一网通办登不上，电话13812345678"), userdict)
    assert "食品经营许可证" in words
    assert "一网通办" in words
    assert "[PHONE]" in words
    assert "，" not in words and "," not in words


def test_tokenize_drops_stop_words_and_folds_digits():
    words = tokenize("等了2小时的队", stopwords=frozenset({"的"}))
    assert "的" not in words
    assert "0" in words


def test_tokenize_empty():
    assert tokenize("") == []


@settings(max_examples=500)
@given(st.text(alphabet=st.characters(max_codepoint=0x10FFFF), max_size=30))
def test_nfkc_shortcut_equals_nfkc_on_any_text(text):
    assert _nfkc(text) == unicodedata.normalize("NFKC", text)


@pytest.mark.parametrize("text", ["ＡＢＣ，１２３", "Ａ\u0301　ｶﾞ", "全角：（括号）！", "ﬁ①", "普通的句子。"])
def test_nfkc_shortcut_equals_nfkc_on_full_width_and_combining_text(text):
    assert _nfkc(text) == unicodedata.normalize("NFKC", text)


def test_nfkc_shortcut_equals_nfkc_on_every_project_text():
    from seeding import texts

    assert all(_nfkc(t) == unicodedata.normalize("NFKC", t) for t in texts())
