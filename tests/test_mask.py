"""Masking: what it takes out (property-based, numbers written in many ways), that every
pattern runs in linear time, and that the access log masks a capped path."""

from __future__ import annotations

import re
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import triage
from benchmarks.mask_bench import adversarial
from triage.engine.text import _ID_CHECK, _ID_WEIGHTS, MASKS, mask, prepare

CONTEXT = "请尽快处理，联系我：{}，谢谢"
SEP = st.sampled_from(["", " ", "-"])
DIGIT = st.integers(0, 9).map(str)


def digits(n: int) -> st.SearchStrategy[str]:
    return st.lists(DIGIT, min_size=n, max_size=n).map("".join)


def grouped(number: str, sizes: tuple[int, ...], sep: str) -> str:
    parts, at = [], 0
    for size in sizes:
        parts.append(number[at : at + size])
        at += size
    return sep.join(parts)


def leftover_digits(masked: str) -> list[str]:
    return re.findall(r"[0-9]{3,}", masked)


@st.composite
def mobiles(draw: st.DrawFn) -> str:
    number = "1" + draw(st.sampled_from("3456789")) + draw(digits(9))
    prefix = draw(st.sampled_from(["", "+86", "+86 ", "0086", "0086-", "(+86)", "(86) ", "86-"]))
    return prefix + grouped(number, (3, 4, 4), draw(SEP))


@st.composite
def landlines(draw: st.DrawFn) -> str:
    area = draw(st.sampled_from(["010", "020", "021", "0755", "0571", "0898"]))
    local = draw(st.sampled_from("2345678")) + draw(digits(draw(st.sampled_from([6, 7]))))
    half = len(local) // 2
    body = draw(st.sampled_from([local, f"{local[:half]}-{local[half:]}", f"{local[:half]} {local[half:]}"]))
    form = draw(st.sampled_from(["({a}) {b}", "({a}){b}", "{a}-{b}", "{a} {b}", "{a}{b}"]))
    return form.format(a=area, b=body)


@st.composite
def regional(draw: st.DrawFn) -> str:
    """Hong Kong, Macao and Taiwan numbers with their country code, and Taiwan mobiles."""
    kind = draw(st.sampled_from(["852", "853", "886", "tw-local"]))
    if kind == "tw-local":
        return grouped("09" + draw(digits(8)), (4, 3, 3), draw(SEP))
    first = {"852": "2345679", "853": "62", "886": "92"}[kind]
    number = draw(st.sampled_from(first)) + draw(digits(7 if kind != "886" else 8))
    prefix = draw(st.sampled_from(["+{c} ", "+{c}-", "00{c} ", "({c}) ", "(+{c})", "{c}-"])).format(c=kind)
    return prefix + grouped(number, (len(number) - 4, 4), draw(SEP))


def id_checksum(first17: str) -> str:
    return _ID_CHECK[sum(int(d) * w for d, w in zip(first17, _ID_WEIGHTS, strict=True)) % 11]


@st.composite
def id_numbers(draw: st.DrawFn) -> str:
    area = draw(st.sampled_from("123456")) + draw(digits(5))
    born = draw(st.dates(min_value=__import__("datetime").date(1930, 1, 1)))
    seq = draw(digits(3))
    if draw(st.booleans()):  # the 15-digit first-generation card
        number = f"{area}{born:%y%m%d}{seq}"
        return grouped(number, draw(st.sampled_from([(15,), (6, 6, 3)])), draw(SEP))
    first17 = f"{area}{born:%Y%m%d}{seq}"
    number = first17 + id_checksum(first17)
    sizes = draw(st.sampled_from([(18,), (6, 8, 4), (6, 4, 4, 4), (3, 3, 4, 4, 4)]))
    return grouped(number, sizes, draw(SEP))


@settings(max_examples=300, deadline=None)
@given(st.one_of(mobiles(), landlines(), regional()))
def test_phone_numbers_written_any_common_way_are_masked(number):
    masked = mask(CONTEXT.format(number))
    assert "[PHONE]" in masked and leftover_digits(masked) == [], (number, masked)


@settings(max_examples=300, deadline=None)
@given(id_numbers())
def test_id_numbers_old_and_new_whole_or_grouped_are_masked(number):
    masked = mask(CONTEXT.format(number))
    assert leftover_digits(masked) == [], (number, masked)
    assert "[ID]" in masked or "[CARD]" in masked, (number, masked)


@settings(max_examples=200, deadline=None)
@given(
    st.sampled_from(["护照", "护照号码：", "港澳通行证", "回乡证", ""]),
    st.sampled_from(["E", "G", "EA", "C", "H", "M", "P"]),
    digits(8),
)
def test_passports_and_permits_are_masked(label, letters, number):
    document = (letters + number)[:9]
    masked = mask(f"我的{label}{document}丢了")
    assert document not in masked and "[ID]" in masked, masked


@settings(max_examples=200, deadline=None)
@given(
    st.sampled_from(["QQ", "QQ号", "qq：", "扣扣 "]),
    st.sampled_from("123456789"),
    digits(8),
    st.sampled_from(["微信", "微信号：", "vx:", "WeChat "]),
    st.from_regex(r"[a-z][a-z0-9_]{5,12}", fullmatch=True),
)
def test_labelled_qq_and_wechat_accounts_are_masked(qq_label, first, rest, wx_label, wechat):
    masked = mask(f"加{qq_label}{first}{rest}或者{wx_label}{wechat}联系")
    assert first + rest not in masked and wechat not in masked, masked
    assert masked.count("[ACCOUNT]") == 2


SURNAMES = "王李张刘陈杨黄赵吴周欧阳"
GIVEN = "小明伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛"


@settings(max_examples=200, deadline=None)
@given(
    st.sampled_from(["我叫", "姓名：", "联系人", "投诉人", "我的名字是"]),
    st.sampled_from(SURNAMES),
    st.text(GIVEN, min_size=1, max_size=2),
    st.sampled_from(["，", "。", " ", "电话", ""]),
)
def test_names_given_after_a_label_are_masked(label, surname, given_name, after):
    name = surname + given_name
    masked = mask(f"{label}{name}{after}")
    assert name not in masked and "[NAME]" in masked, masked


@settings(max_examples=200, deadline=None)
@given(
    st.sampled_from(["人民路", "解放街", "长宁巷", "复兴中路", "世纪大道"]),
    st.integers(1, 2999),
    st.integers(1, 30),
    st.integers(1, 6),
    st.integers(101, 2808),
)
def test_house_building_and_room_numbers_are_masked(road, house, building, unit, room):
    text = f"我住在{road}{house}号{building}栋{unit}单元{room}室，楼下噪音扰民"
    masked = mask(text)
    assert road in masked and "[ADDRESS]" in masked, masked  # the road says where; kept
    assert leftover_digits(masked) == [] and str(room) not in masked, masked


def test_the_examples_from_the_review():
    text = (
        "我叫张三，身份证110105491231002，另一张 110105 19491231 002X，座机(010) 1234-5678 或 "
        "010 1234 5678，香港+852 9123 4567，澳门+853 6612 3456，台湾+886 912 345 678，"
        "护照E12345678，港澳通行证C12345678，QQ：12345678，微信：zhang_san88，家住人民路88号3栋501室"
    )
    masked = mask(text)
    assert leftover_digits(masked) == [], masked
    for kept_out in ("张三", "zhang_san88", "E12345678", "C12345678"):
        assert kept_out not in masked


def test_ordinary_text_is_left_alone():
    for text in (
        "营业执照办理排队两个小时，3号窗口只开了一个",
        "2026年11月1日下午3点到的，等了120分钟",
        "我是一名个体户，社保缴费基数怎么调整",
        "公积金提取需要哪些材料",
    ):
        assert mask(text) == text


def mask_ungated(text: str) -> str:
    """Every pattern, run whether or not its cheap pre-check says it could match."""
    for _, pattern, replacement, _ in MASKS:
        text = pattern.sub(replacement, text)
    return text


GATED = "0123456789 -+()@.:：号栋室单元微信Vvxhat电话QQ护照先生我叫王张京AXa是的"  # each pre-check's words


@settings(max_examples=300)
@given(st.text(alphabet=GATED, max_size=60))
def test_the_pre_checks_skip_only_patterns_that_cannot_match(text):
    assert mask(text) == mask_ungated(text)


def test_the_pre_checks_change_no_project_text():
    from seeding import texts

    for text in texts():
        assert mask(text) == mask_ungated(text)


def test_the_package_exposes_the_one_mask_lazily():
    import subprocess
    import sys

    assert triage.mask is mask
    assert triage.mask("电话13812345678") == "电话[PHONE]"
    code = "import sys, triage; print('triage.engine.text' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_a_repeated_name_never_becomes_a_hotspot_term():
    from triage.service.hotspots import Words, distinguishing_terms

    words = Words()
    recent = [words(prepare(f"我叫王小明，营业执照排队太久{i}")) for i in range(30)]
    recent += [words(f"联系人王小明，营业执照排队太久{i}") for i in range(30)]  # stored before
    before = [words(prepare(f"社保卡补办要多久{i}")) for i in range(30)]
    terms = [t["term"] for t in distinguishing_terms(recent, before, top=50)]
    assert terms and not any("小明" in t for t in terms), terms


# -- linear time ------------------------------------------------------------------------


def cpu_ms(fn, text: str, repeat: int = 3) -> float:
    best = float("inf")
    for _ in range(repeat):
        started = time.thread_time()
        fn(text)
        best = min(best, time.thread_time() - started)
    return best * 1000


def growth(fn, small: int, big: int) -> tuple[float, str]:
    """The largest time ratio between ``big`` and ``small`` characters over the adversarial
    inputs (big/small for linear work; its square for quadratic)."""
    ratios = []
    for (name, short), (_, long) in zip(adversarial(small), adversarial(big), strict=True):
        ratios.append((cpu_ms(fn, long) / max(cpu_ms(fn, short), 0.02), name))
    return max(ratios)


@pytest.mark.parametrize("entry", MASKS, ids=[f"{i}-{m[0]}" for i, m in enumerate(MASKS)])
def test_every_masking_pattern_is_linear(entry):
    _, pattern, replacement, _ = entry
    ratio, which = growth(lambda t: pattern.sub(replacement, t), 2_000, 20_000)
    assert ratio < 35, f"{ratio:.0f}x from 2k to 20k characters of {which}: not linear"


def test_the_linearity_check_catches_a_quadratic_pattern():
    old_email = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")
    ratio, _ = growth(lambda t: old_email.sub("[EMAIL]", t), 400, 4_000)
    assert ratio > 35


def test_the_access_log_masks_a_capped_path():
    from triage.cli.server import MAX_LOGGED_PATH, mask_path

    assert mask_path("/v1/tickets/13812345678") == "/v1/tickets/[PHONE]"
    long = "/v1/tickets/" + "a" * 50_000
    assert mask_path(long) == "/v1/tickets/…"
    cut_number = "/x/" + "b" * (MAX_LOGGED_PATH - 10) + "/13812345678"
    assert "138" not in mask_path(cut_number) and mask_path(cut_number).endswith("/…")
    assert len(mask_path("/" + "c/" * 10_000)) <= MAX_LOGGED_PATH + 1
