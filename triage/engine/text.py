"""The one text pipeline used by training and serving: normalize -> mask -> tokenize.

Everything here is a plain function of its input (plus a lazily built, process-wide jieba
dictionary), so pipeline steps pickle and the same code runs in ``fit`` and at serving time.
"""

from __future__ import annotations

import html
import re
import threading
import unicodedata
from collections.abc import Iterable
from functools import lru_cache
from typing import Any

from triage.engine.segment import Dictionary

__all__ = [
    "MAX_CHARS",
    "PLACEHOLDERS",
    "mask",
    "normalize",
    "prepare",
    "tokenize",
    "tokenize_with",
]

#: Text beyond this many characters (after normalization) is cut off. Real messages are far
#: shorter (the benchmarks' median is 45-219 chars); the tail of a 12k-char letter adds cost,
#: not signal.
MAX_CHARS = 3000

_TAG = re.compile(r"<[^<>]{0,500}>")
_SPACE = re.compile(r"\s+")
# Full-width ASCII and the ideographic space: NFKC maps each to one ASCII character, so
# replacing them first changes nothing NFKC gives, and most Chinese text is then already
# normalized (full NFKC costs about 2,000 instructions a character; a comma is enough).
_WIDE = re.compile("[\uff01-\uff5e\u3000]")
_NARROW = {chr(c): chr(c - 0xFEE0) for c in range(0xFF01, 0xFF5F)} | {"\u3000": " "}


@lru_cache(maxsize=1)
def _t2s():  # type: ignore[no-untyped-def]
    import opencc

    return opencc.OpenCC("t2s")


def normalize(text: str) -> str:
    """Traditional -> simplified, full-width -> half-width, HTML and extra white space removed.

    >>> normalize("<p>營業執照　ＡＢＣ１２３</p>")
    '营业执照 ABC123'
    """
    if not text:
        return ""
    # Bound the work before any regex runs: a 100k-char paste costs no more than a long letter.
    text = text[: MAX_CHARS * 4]
    text = html.unescape(_TAG.sub(" ", text))
    text = _nfkc(text)
    text = _t2s().convert(text)
    return _SPACE.sub(" ", text).strip()[:MAX_CHARS]


def _nfkc(text: str) -> str:
    """``unicodedata.normalize("NFKC", text)``, mostly without running it."""
    if unicodedata.is_normalized("NFKC", text):
        return text
    for wide in set(_WIDE.findall(text)):
        text = text.replace(wide, _NARROW[wide])
    return text if unicodedata.is_normalized("NFKC", text) else unicodedata.normalize("NFKC", text)


_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"


def _valid_id(number: str) -> bool:
    total = sum(int(d) * w for d, w in zip(number[:17], _ID_WEIGHTS, strict=True))
    return _ID_CHECK[total % 11] == number[17].upper()


def _id18(match: re.Match[str]) -> str:
    """An 18-character ID, however spaced, when its checksum holds (else the card rule,
    or the long-number rule, still takes it)."""
    digits = _GAPS.sub("", match.group())
    return "[ID]" if _valid_id(digits) else match.group()


# Every pattern is linear in the length of its input: each either matches a bounded number of
# characters, or may only start where a run of its characters starts (a look-behind), so no
# position is scanned again from every earlier one. tests/test_mask.py times each on long
# adversarial input; benchmarks/mask_bench.py prints the figures.
_GAPS = re.compile(r"[ -]")
_PROVINCES = "京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼滬遼蘇贛魯閩貴陝瓊寧雲晉粵"
_SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏"
    "吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严"
    "覃武戴莫孔向汤欧"
)
_HAN = r"[\u4e00-\u9fff]"
_D = r"(?:[ -]?[0-9])"  # a digit, maybe after one space or dash
_LABEL_GAP = r"[:： ]{0,3}"
#: Every pattern gated on it needs six digits in a row, maybe one space or dash apart: a text
#: without them (most; a date or "3号窗口" has fewer) skips the eleven number patterns.
NUMBER = re.compile(r"[0-9](?:[ -]?[0-9]){5}")
_NAME_LABELS = (
    "我叫",
    "我名叫",
    "我的名字是",
    "我的名字叫",
    "本人姓名",
    "本人名叫",
    "姓名",
    "联系人",
    "申请人",
    "投诉人",
)


def _after(labels: tuple[str, ...], then: str) -> str:
    """Look-behinds for "one of ``labels``, maybe a colon or a space, then the one character
    ``then`` just matched". The label stays in the text and the replacement is a plain string
    (a group reference in it is expanded in Python for every match, which made a text full of
    labels slow to mask); the pattern starts with ``then``, which lets the regex engine skip
    the characters that cannot start a match."""
    by_width: dict[int, list[str]] = {}
    for label in labels:
        for gap in ("", ":", "：", " ", ": ", "： "):
            by_width.setdefault(len(label + gap), []).append(re.escape(label + gap))
    groups = (f"(?<=(?:{'|'.join(words)}){then})" for _, words in sorted(by_width.items()))
    last = re.escape("".join(sorted({label[-1] for label in labels} | set(":： "))))
    return f"(?<=[{last}]{then})(?:" + "|".join(groups) + ")"  # one cheap test first


#: (placeholder, pattern, replacement) in the order they run; a replacement with \1 keeps the
#: label in front of the masked value ("电话：[PHONE]").
MASKS: tuple[tuple[str, re.Pattern[str], Any, tuple[str, ...] | re.Pattern[str]], ...] = (
    (
        "[EMAIL]",
        re.compile(
            r"(?<![A-Za-z0-9._%+-])[A-Za-z0-9._%+-]{1,64}@[A-Za-z0-9-]{1,63}(?:\.[A-Za-z0-9-]{1,63}){0,8}"
            r"\.[A-Za-z]{2,24}"
        ),
        "[EMAIL]",
        ("@",),
    ),
    # Resident ID, 18 characters, written whole or in groups (110105 19491231 002X).
    (
        "[ID]",
        re.compile(
            r"(?<![0-9A-Za-z])[1-9][0-9]{2}[ -]?[0-9]{3}[ -]?[0-9]{4}[ -]?[0-9]{4}[ -]?[0-9]{3}[0-9Xx]"
            r"(?![0-9A-Za-z])"
        ),
        _id18,
        NUMBER,
    ),
    # The first-generation 15-digit ID: area code, YYMMDD, sequence.
    (
        "[ID]",
        re.compile(
            r"(?<![0-9A-Za-z])[1-9][0-9]{5}[ -]?[0-9]{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12][0-9]|3[01])"
            r"[ -]?[0-9]{3}(?![0-9A-Za-z])"
        ),
        "[ID]",
        NUMBER,
    ),
    # Passports (E/G/P/D/S), Hong Kong and Macao travel permits (C), home-return permits (H/M),
    # Taiwan ID cards (a letter and 1 or 2, then 8 digits) and Hong Kong IDs (A123456(7)).
    (
        "[ID]",
        re.compile(
            r"(?<![0-9A-Za-z])(?:[CDEGHMPScdeghmps][A-Za-z]?[0-9]{7,8}|[A-Z][12][0-9]{8}"
            r"|[A-Z]{1,2}[0-9]{6}\(?[0-9A]\)?)(?![0-9A-Za-z])"
        ),
        "[ID]",
        NUMBER,
    ),
    (
        "[ID]",
        re.compile(
            rf"((?:护照|通行证|回乡证|台胞证)(?:号码|号)?{_LABEL_GAP})[A-Za-z0-9]{{6,18}}(?![A-Za-z0-9])"
        ),
        r"\1[ID]",
        ("护照", "通行证", "回乡证", "台胞证"),
    ),
    # Bank cards: 16 to 19 digits (before the phone rules, which would take their tail).
    (
        "[CARD]",
        re.compile(r"(?<![0-9])(?:[0-9]{4}[ -]?){3}[0-9]{4}(?:[ -]?[0-9]{1,3})?(?![0-9])"),
        "[CARD]",
        NUMBER,
    ),
    # Mainland mobiles, with +86 / 0086 / (86) or without, digits in any grouping.
    (
        "[PHONE]",
        re.compile(rf"(?<![0-9])(?:(?:\+|00)86[ -]?|\(\+?86\)[ -]?|86[ -])?1[3-9]{_D}{{9}}(?![0-9])"),
        "[PHONE]",
        NUMBER,
    ),
    # Hong Kong (852), Macao (853) and Taiwan (886) numbers with their country code.
    (
        "[PHONE]",
        re.compile(rf"(?<![0-9])(?:\+|00|\(\+?)?(?:852|853|886)\)?[ -]?[0-9]{_D}{{6,9}}(?![0-9])"),
        "[PHONE]",
        NUMBER,
    ),
    # Taiwan mobiles written locally: 0912-345-678.
    ("[PHONE]", re.compile(rf"(?<![0-9])09[0-9]{_D}{{7}}(?![0-9])"), "[PHONE]", NUMBER),
    # Landlines with an area code: 010-12345678, (010) 1234-5678, 010 1234 5678, (02) 2345-6789.
    (
        "[PHONE]",
        re.compile(
            rf"(?<![0-9])(?:(?:\+|00)86[ -]?)?(?:\(0[1-9][0-9]{{0,2}}\)|0[1-9][0-9]{{1,2}})[ -]?"
            rf"[1-9]{_D}{{6,7}}(?:(?:-|转)[0-9]{{1,5}})?(?![0-9])"
        ),
        "[PHONE]",
        NUMBER,
    ),
    # A local number without area code, grouped 4+4 (8555 2310).
    ("[PHONE]", re.compile(r"(?<![0-9])[2-9][0-9]{3}[ -][0-9]{4}(?![0-9])"), "[PHONE]", NUMBER),
    # A bare 7-12 digit run right after a word that says it is a phone number.
    (
        "[PHONE]",
        re.compile(r"((?:电话|座机|手机|热线|联系方式|联系电话|tel|TEL|Tel)[:： ]{0,2})[0-9]{7,12}(?![0-9])"),
        r"\1[PHONE]",
        NUMBER,
    ),
    # QQ and WeChat accounts, when called so.
    (
        "[ACCOUNT]",
        re.compile(rf"((?:QQ|qq|Qq|扣扣)(?:号码|号)?{_LABEL_GAP})[1-9][0-9]{{4,11}}(?![0-9])"),
        r"\1[ACCOUNT]",
        ("QQ", "qq", "Qq", "扣扣"),
    ),
    (
        "[ACCOUNT]",
        re.compile(
            rf"((?:微信|薇信|[Ww]e[Cc]hat|[Vv][Xx]|V信)(?:号码|号|ID|id)?{_LABEL_GAP})"
            r"[A-Za-z0-9][-_A-Za-z0-9]{4,19}(?![-_A-Za-z0-9])"
        ),
        r"\1[ACCOUNT]",
        ("微信", "薇信", "V信", "hat", "Hat", "vx", "vX", "Vx", "VX"),
    ),
    (
        "[PLATE]",
        re.compile(
            rf"[{_PROVINCES}][A-Za-z][·•・. -]?[A-Za-z0-9]{{4}}[A-Za-z0-9挂学警港澳]{{1,2}}(?![A-Za-z0-9])"
        ),
        "[PLATE]",
        (),
    ),
    # A name where the writer gives it: 我叫张三, 姓名：李四, 联系人王五; and 张先生, 李女士.
    (
        "[NAME]",
        re.compile(
            _HAN
            + _after(_NAME_LABELS, then=_HAN)
            + rf"(?:{_HAN}{{1,3}}?(?=[^\u4e00-\u9fff]|先生|女士|电话|手机|身份|$)|{_HAN})"
        ),
        "[NAME]",
        _NAME_LABELS,
    ),
    (
        "[NAME]",
        re.compile(rf"[{_SURNAMES}](?=先生|女士|小姐|阿姨|师傅)"),
        "[NAME]",
        ("先生", "女士", "小姐", "阿姨", "师傅"),
    ),
    # The house, building and room of an address (the road's name stays: it says where).
    (
        "[ADDRESS]",
        re.compile(
            r"[0-9](?:(?<=[路街巷弄村][0-9])|(?<=大道[0-9]))[0-9]{0,4}(?:-[0-9]{1,4})?[号弄]"
            r"(?:[0-9A-Za-z]{1,5}(?:号楼|幢|栋|座|单元|楼|层|室|号|户)){0,4}"
        ),
        "[ADDRESS]",
        ("号", "弄"),
    ),
    (
        "[ADDRESS]",
        re.compile(
            r"(?<![0-9A-Za-z])(?:[0-9][0-9A-Za-z]{0,3}|[A-Za-z][0-9]{1,3})(?:号楼|幢|栋|座)"
            r"(?:[0-9]{1,3}单元)?(?:[0-9]{1,5}(?:室|号|户))?"
        ),
        "[ADDRESS]",
        ("楼", "幢", "栋", "座"),
    ),
    ("[ADDRESS]", re.compile(r"(?<![0-9])[0-9]{1,3}单元[0-9]{1,5}(?:室|号|户)?"), "[ADDRESS]", ("单元",)),
    ("[ADDRESS]", re.compile(r"(?<![0-9])[0-9]{3,5}室"), "[ADDRESS]", ("室",)),
)

PLACEHOLDERS = tuple(dict.fromkeys(entry[0] for entry in MASKS))


def mask(text: str) -> str:
    """Replace personal data with placeholder tokens before anything is stored or learned.

    ID numbers are masked only when their checksum holds; any other long digit run of card
    length is masked as a card, so an ID with a typo is still not kept. Names and addresses
    are masked only where the text marks them (see the README, "Privacy").

    >>> mask("电话13812345678，邮箱a.b@qq.com，车牌沪A·12345")
    '电话[PHONE]，邮箱[EMAIL]，车牌[PLATE]'
    >>> mask("我叫张三，住人民路88号3栋501室，QQ：12345678")
    '我叫[NAME]，住人民路[ADDRESS]，QQ：[ACCOUNT]'
    """
    if not text:
        return ""
    present: dict[tuple[str, ...] | re.Pattern[str], bool] = {}
    for _, pattern, replacement, needs in MASKS:
        if needs:
            if needs not in present:
                if isinstance(needs, re.Pattern):
                    present[needs] = needs.search(text) is not None
                else:
                    present[needs] = any(word in text for word in needs)
            if not present[needs]:
                continue
        text = pattern.sub(replacement, text)
    return text


def prepare(text: str, title: str | None = None) -> str:
    """The document the model sees: title and text, normalized, then masked."""
    if title and title.strip():
        text = f"{title.strip()}。{text}"
    return mask(normalize(text))


# --- tokenization -------------------------------------------------------------------------

_PLACEHOLDER_SPLIT = re.compile(r"(\[(?:ID|CARD|PHONE|EMAIL|PLATE|ACCOUNT|NAME|ADDRESS)\])")
_DIGITS = re.compile(r"^[0-9.]+$")
_lock = threading.Lock()
_dictionaries: dict[tuple[str, ...], Dictionary] = {}


def dictionary(userdict: tuple[str, ...]) -> Dictionary:
    """jieba's dictionary plus ``userdict``, built once per process (or taken from a loaded
    model that carries the same one: see ``share_dictionary``)."""
    found = _dictionaries.get(userdict)
    if found is not None:
        return found
    with _lock:
        if userdict not in _dictionaries:
            _dictionaries[userdict] = Dictionary.build(userdict)
    return _dictionaries[userdict]


def share_dictionary(userdict: tuple[str, ...], built: Dictionary) -> Dictionary:
    """Let every ``tokenize`` with ``userdict`` in this process use ``built`` (a loaded
    model's), instead of building its own copy; the one already shared wins."""
    with _lock:
        return _dictionaries.setdefault(tuple(userdict), built)


def _is_punct(token: str) -> bool:
    return all(unicodedata.category(ch)[0] in "PSZC" for ch in token)


@lru_cache(maxsize=8192)
def _word(token: str) -> tuple[str, str]:
    """A jieba token as (lower-cased, feature): the feature is "" for punctuation and space,
    "0" for a number. Cached: tokens repeat, and the checks cost more than the lookup."""
    low = token.strip().lower()
    if not low or _is_punct(low):
        return low, ""
    return low, "0" if _DIGITS.match(low) else low


def tokenize(text: str, userdict: Iterable[str] = (), stopwords: frozenset[str] = frozenset()) -> list[str]:
    """Words of a prepared text: jieba segments, placeholders kept whole, digits folded to 0.

    ``userdict`` holds jieba dictionary lines ("营业执照 2000 n"); stop words and punctuation
    are dropped.
    """
    return tokenize_with(dictionary(tuple(userdict)), text, stopwords)


def tokenize_with(words_of: Dictionary, text: str, stopwords: frozenset[str] = frozenset()) -> list[str]:
    """``tokenize`` with a segmentation dictionary at hand (a loaded model's)."""
    cut = words_of.lcut
    words: list[str] = []
    for piece in _PLACEHOLDER_SPLIT.split(text):
        if not piece:
            continue
        if piece.startswith("[") and piece in PLACEHOLDERS:
            words.append(piece)
            continue
        for token in cut(piece):
            low, word = _word(token)
            if word and low not in stopwords:
                words.append(word)
    return words
