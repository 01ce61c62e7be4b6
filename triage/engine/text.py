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

PLACEHOLDERS = ("[ID]", "[CARD]", "[PHONE]", "[EMAIL]", "[PLATE]")

_TAG = re.compile(r"<[^<>]{0,500}>")
_SPACE = re.compile(r"\s+")


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
    text = unicodedata.normalize("NFKC", text)
    text = _t2s().convert(text)
    return _SPACE.sub(" ", text).strip()[:MAX_CHARS]


_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"


def _valid_id(number: str) -> bool:
    total = sum(int(d) * w for d, w in zip(number[:17], _ID_WEIGHTS, strict=True))
    return _ID_CHECK[total % 11] == number[17].upper()


_PROVINCES = "京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼滬遼蘇贛魯閩貴陝瓊寧雲晉粵"
_EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")
_ID = re.compile(r"(?<![0-9A-Za-z])[1-9][0-9]{16}[0-9Xx](?![0-9A-Za-z])")
_CARD = re.compile(r"(?<![0-9])(?:[0-9]{4}[ -]?){3}[0-9]{4}(?:[ -]?[0-9]{1,3})?(?![0-9])")
_MOBILE = re.compile(r"(?<![0-9])(?:\+?86[ -]?)?1[3-9][0-9](?:[ -]?[0-9]{4}){2}(?![0-9])")
_LANDLINE = re.compile(r"(?<![0-9])(?:\(0[0-9]{2,3}\)|0[0-9]{2,3}[ -]?)[0-9]{7,8}(?:-[0-9]{1,5})?(?![0-9])")
# A local number without area code: grouped 4+4 (8555 2310), or a bare 7-8 digit run right
# after a word that says it is a phone number.
_LOCAL = re.compile(r"(?<![0-9])[2-9][0-9]{3}[ -][0-9]{4}(?![0-9])")
_LABELLED = re.compile(
    r"((?:电话|座机|手机|热线|联系方式|联系电话|tel|TEL|Tel)[:： ]{0,2})([0-9]{7,8})(?![0-9])"
)
_PLATE = re.compile(
    rf"[{_PROVINCES}][A-Za-z][·•・. -]?[A-Za-z0-9]{{4}}[A-Za-z0-9挂学警港澳]{{1,2}}(?![A-Za-z0-9])"
)


def mask(text: str) -> str:
    """Replace personal numbers with placeholder tokens before anything is stored or learned.

    ID numbers are masked only when their checksum holds; any other long digit run of card
    length is masked as a card, so an ID with a typo is still not kept.

    >>> mask("电话13812345678，邮箱a.b@qq.com，车牌沪A·12345")
    '电话[PHONE]，邮箱[EMAIL]，车牌[PLATE]'
    """
    if not text:
        return ""
    text = _EMAIL.sub("[EMAIL]", text)
    text = _ID.sub(lambda m: "[ID]" if _valid_id(m.group()) else m.group(), text)
    text = _MOBILE.sub("[PHONE]", text)
    text = _LANDLINE.sub("[PHONE]", text)
    text = _CARD.sub("[CARD]", text)
    text = _LOCAL.sub("[PHONE]", text)
    text = _LABELLED.sub(lambda m: m.group(1) + "[PHONE]", text)
    return _PLATE.sub("[PLATE]", text)


def prepare(text: str, title: str | None = None) -> str:
    """The document the model sees: title and text, normalized, then masked."""
    if title and title.strip():
        text = f"{title.strip()}。{text}"
    return mask(normalize(text))


# --- tokenization -------------------------------------------------------------------------

_PLACEHOLDER_SPLIT = re.compile(r"(\[(?:ID|CARD|PHONE|EMAIL|PLATE)\])")
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
