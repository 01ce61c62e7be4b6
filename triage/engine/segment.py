"""jieba's dictionary segmentation (``Tokenizer.lcut(text, HMM=False)``), held compactly.

jieba keeps its dictionary as a Python dict of every word and every prefix of one (about
500,000 strings, some 70 MB per process). The same dynamic programme needs only "which
dictionary words start here", which a MARISA trie answers in one call per position from
about 1 MB, plus each word's log-probability in a flat array. :class:`Dictionary` builds
both from jieba's own dict.txt and the user dictionary exactly as jieba does (same totals,
same order of float operations), so the words are the same: tests/test_segment.py checks
every text of the project's data against jieba itself. Serving never imports jieba: a model
folder carries its dictionary (see ``to_bytes``/``from_bytes``).
"""

from __future__ import annotations

import importlib.util
import re
from array import array
from collections.abc import Iterable
from itertools import accumulate
from math import log
from pathlib import Path

import marisa_trie
import numpy as np

__all__ = ["Dictionary", "Table", "jieba_dict_path"]

# jieba 0.42.1's own patterns (tests/test_segment.py checks they still are).
RE_HAN = re.compile("([\u4e00-\u9fd5a-zA-Z0-9+#&\\._%\\-]+)", re.U)
RE_SKIP = re.compile("(\r\n|\\s)", re.U)
RE_ENG = re.compile("[a-zA-Z0-9]", re.U)


def jieba_dict_path() -> Path:
    """jieba's dict.txt, found without importing jieba (its import alone costs 30 MB)."""
    spec = importlib.util.find_spec("jieba")
    if spec is None or spec.origin is None:
        raise RuntimeError("jieba is not installed; it is needed to build a segmentation dictionary")
    return Path(spec.origin).parent / "dict.txt"


class Dictionary:
    """Words with their log-probabilities (``log(freq) - log(total)``), as jieba scores them."""

    def __init__(
        self,
        trie: marisa_trie.Trie,
        logp: array[float],
        logtotal: float,
        maxlen: int,
        table: Table | None = None,
    ) -> None:
        self.trie = trie
        self.logp = logp  # by trie key id
        self.logtotal = logtotal
        self.maxlen = maxlen  # the longest word: no prefix search needs more text
        self._table = table

    @property
    def table(self) -> Table:
        """The same words as packed integers, for cutting (built from the trie if a model
        folder from before the table was saved does not carry one: about a second, once)."""
        if self._table is None:
            items = self.trie.items()
            self._table = Table.of([w for w, _ in items], [self.logp[i] for _, i in items])
        return self._table

    # -- building: jieba's gen_pfdict and add_word ------------------------------------
    @classmethod
    def build(cls, userdict: Iterable[str] = (), source: Path | None = None) -> Dictionary:
        """jieba's dictionary plus ``userdict`` lines ("word [freq [tag]]"), added in order."""
        userdict = list(userdict)
        # Prefix entries matter only to suggest a frequency for a user word given without one.
        prefixes = any(len(line.split()) < 2 for line in userdict)
        freq: dict[str, int] = {}
        total = 0
        with open(source or jieba_dict_path(), "rb") as fh:
            for raw in fh:
                word, count = raw.strip().decode("utf-8").split(" ")[:2]
                freq[word] = int(count)
                total += int(count)
                for end in range(1, len(word) if prefixes else 1):
                    freq.setdefault(word[:end], 0)
        for line in userdict:
            word, _, rest = line.partition(" ")
            given = rest.split()[0] if rest.split() else None
            f = int(given) if given else _suggest_freq(freq, total, word)
            freq[word] = f
            total += f
            for end in range(1, len(word) if prefixes else 1):
                freq.setdefault(word[:end], 0)
        words = [w for w, f in freq.items() if f]
        trie = marisa_trie.Trie(words)
        logtotal = log(total)
        logp = array("d", bytes(8 * len(trie)))
        scores = [log(freq[w]) - logtotal for w in words]
        for w, p in zip(words, scores, strict=True):
            logp[trie.key_id(w)] = p
        table = Table.of(words, scores)
        return cls(trie, logp, logtotal, max(map(len, words), default=1), table)

    def to_bytes(self) -> tuple[bytes, bytes]:
        """(the trie, the log-probabilities as little-endian doubles)."""
        return self.trie.tobytes(), self.logp.tobytes()

    @classmethod
    def from_bytes(
        cls, trie: bytes, logp: bytes, logtotal: float, maxlen: int, table: Table | None = None
    ) -> Dictionary:
        t = marisa_trie.Trie().frombytes(trie)
        probs = array("d")
        probs.frombytes(logp)
        if len(probs) != len(t):
            raise ValueError(f"the dictionary has {len(t)} words but {len(probs)} probabilities")
        if maxlen < 1:
            raise ValueError(f"the longest word cannot have {maxlen} characters")
        return cls(t, probs, logtotal, maxlen, table)

    # -- cutting -------------------------------------------------------------------------
    def lcut(self, sentence: str) -> list[str]:
        """``jieba.Tokenizer.lcut(sentence, HMM=False)`` with this dictionary."""
        words: list[str] = []
        found: Found | None = None
        score: list[float] = []
        end: list[int] = []
        start = 0
        for block in RE_HAN.split(sentence):
            if not block:
                continue
            if RE_HAN.match(block):
                if found is None:  # every word of the sentence, looked up at once
                    found = self.table.lookup(sentence)
                    score, end = [0.0] * (len(sentence) + 1), [0] * len(sentence)
                self._route(sentence, start, start + len(block), found, score, end)
                _emit(sentence, start, start + len(block), end, words)
            else:
                for piece in RE_SKIP.split(block):
                    if RE_SKIP.match(piece):
                        words.append(piece)
                    else:
                        words.extend(piece)  # one character at a time, as jieba yields them
            start += len(block)
        return words

    def _route(self, text: str, a: int, b: int, found: Found, score: list[float], end: list[int]) -> None:
        """jieba's calc() over the block ``text[a:b]``: from each position back to front, the
        first word of the route of highest log-probability (``end``: its last character;
        ``score[b]`` is 0, as no block ends where another starts). Words are tried in the
        order jieba's prefix search finds them, shortest first, and a tie goes to the later
        (longer) word, as max() over jieba's (score, end) tuples gives it."""
        masks, first, logp, long_at = found
        long_words, logtotal, maxlen = self.table.long_words, self.logtotal, self.maxlen
        for k in range(b - 1, a - 1, -1):
            mask = masks[k]  # bit n-1: a word of n characters starts here (n = 1..4)
            best_score, best_end = 0.0, -1
            if mask:
                i, fits = first[k], b - k
                if mask & 1:
                    best_score, best_end = logp[i] + score[k + 1], k
                    i += 1
                if mask & 2:
                    if fits > 1:
                        sc = logp[i] + score[k + 2]
                        if best_end < 0 or sc >= best_score:
                            best_score, best_end = sc, k + 1
                    i += 1
                if mask & 4:
                    if fits > 2:
                        sc = logp[i] + score[k + 3]
                        if best_end < 0 or sc >= best_score:
                            best_score, best_end = sc, k + 2
                    i += 1
                if mask & 8 and fits > 3:
                    sc = logp[i] + score[k + 4]
                    if best_end < 0 or sc >= best_score:
                        best_score, best_end = sc, k + 3
            if long_at and k in long_at:
                for n in range(5, min(b - k, maxlen) + 1):
                    p = long_words.get(text[k : k + n])
                    if p is not None:
                        sc = p + score[k + n]
                        if best_end < 0 or sc >= best_score:
                            best_score, best_end = sc, k + n - 1
            if best_end < 0:  # no word starts here: the character alone, scored log(1)
                best_score, best_end = -logtotal + score[k + 1], k
            score[k], end[k] = best_score, best_end


_POPCOUNT = (0, 1, 1, 2, 1, 2, 2, 3, 1, 2, 2, 3, 2, 3, 3, 4)  # words in a position's mask
#: Per position of a sentence: which short words start there (a bit mask), where their
#: log-probabilities begin in the flat list, the flat list, and where a longer word may start.
Found = tuple[list[int], list[int], list[float], set[int]]


def _emit(s: str, a: int, b: int, end: list[int], out: list[str]) -> None:
    x, buf = a, ""
    while x < b:
        y = end[x] + 1
        word = s[x:y]
        if y - x == 1 and RE_ENG.match(word):  # single letters and digits run together
            buf += word
        else:
            if buf:
                out.append(buf)
                buf = ""
            out.append(word)
        x = y
    if buf:
        out.append(buf)


def _pack(codes: np.ndarray) -> np.ndarray:
    """Rows of up to 4 character codes (below 2**16) as one integer each, 16 bits a character,
    the first in the highest bits; a shorter word leaves its low bits 0 (no character of a
    block is U+0000), so words of different lengths never share a key."""
    key = np.zeros(len(codes), dtype=np.uint64)
    for i in range(codes.shape[1]):
        key |= codes[:, i].astype(np.uint64) << np.uint64(48 - 16 * i)
    return key


class Table:
    """The dictionary laid out for cutting: a sorted array of the words of 1 to 4 characters
    packed as integers (``_pack``) with their log-probabilities, and a dict of the longer
    words. One ``np.searchsorted`` then finds every word starting anywhere in a sentence,
    where the trie needs a call (a few thousand instructions) per character. Words with a
    character beyond U+FFFF are left out: no block jieba cuts (``RE_HAN``) has one.
    """

    def __init__(self, keys: np.ndarray, keyp: np.ndarray, long_words: dict[str, float]) -> None:
        if keys.dtype != np.uint64 or keyp.dtype != np.float64 or keys.shape != keyp.shape:
            raise ValueError("a dictionary table needs as many float64 scores as uint64 keys")
        if len(keys) and not (bool(np.all(keys[1:] > keys[:-1])) and keys[-1] < _SENTINEL[0]):
            raise ValueError("the keys of a dictionary table must be sorted and distinct")
        self.long_words = long_words
        # Stored without the sentinel that ends both arrays here (a search never runs off the end).
        self.keys = np.concatenate([keys, _SENTINEL])
        self.keyp = np.concatenate([keyp, [np.nan]])
        heads = [w[:4] for w in long_words if max(map(ord, w[:4])) < 0x10000]
        self.long_heads = np.concatenate([np.unique(_pack(_codes(heads, 4))), _SENTINEL])

    @classmethod
    def of(cls, words: list[str], logp: list[float]) -> Table:
        by_len: dict[int, tuple[list[str], list[float]]] = {}
        long_words: dict[str, float] = {}
        for w, p in zip(words, logp, strict=True):
            if len(w) > 4:
                long_words[w] = p
            elif w and max(map(ord, w)) < 0x10000:
                group = by_len.setdefault(len(w), ([], []))
                group[0].append(w)
                group[1].append(p)
        keys = [np.zeros(0, dtype=np.uint64)]
        keyp = [np.zeros(0)]
        for n, (ws, ps) in by_len.items():
            keys.append(_pack(_codes(ws, n)))
            keyp.append(np.array(ps, dtype=np.float64))
        all_keys, all_p = np.concatenate(keys), np.concatenate(keyp)
        order = np.argsort(all_keys, kind="stable")
        return cls(all_keys[order], all_p[order], long_words)

    def lookup(self, text: str) -> Found:
        """Every word of 1 to 4 characters starting at each position of ``text``, and the
        positions where a longer word may start. Words that are not inside one block
        (``RE_HAN``) are the caller's to ignore."""
        n = len(text)
        raw = text.encode("utf-16-be")
        if len(raw) == 2 * n:  # 4 characters from any position are one big-endian uint64
            raw += bytes(6)
            window = np.ndarray((n,), dtype=">u8", buffer=raw, strides=(2,)).astype(np.uint64)
        else:  # surrogate pairs: position by position instead
            c = np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32).astype(np.uint64)
            c[c > 0xFFFF] = 0  # in no block; else its bits would spill into the one before
            padded = np.zeros(n + 3, dtype=np.uint64)
            padded[:n] = c
            window = np.zeros(n, dtype=np.uint64)
            for i in range(4):
                window |= padded[i : n + i] << np.uint64(48 - 16 * i)
        q = window[:, None] & _PREFIX_MASKS  # the first 1, 2, 3 and 4 characters
        at = np.searchsorted(self.keys, q)  # the sentinel key keeps ``at`` in range
        hit = self.keys[at] == q
        masks = (hit @ _BITS).tolist()
        first = [0, *accumulate(map(_POPCOUNT.__getitem__, masks))]  # numpy costs more here
        heads = self.long_heads[np.searchsorted(self.long_heads, window)] == window
        long_at = set(np.flatnonzero(heads).tolist()) if heads.any() else set()
        return masks, first, self.keyp[at[hit]].tolist(), long_at


_PREFIX_MASKS = np.array(
    [0xFFFF << 48, 0xFFFFFFFF << 32, 0xFFFFFFFFFFFF << 16, 0xFFFFFFFFFFFFFFFF], dtype=np.uint64
)
_SENTINEL = np.array([0xFFFFFFFFFFFFFFFF], dtype=np.uint64)  # U+FFFF x 4: in no block
_BITS = np.array([1, 2, 4, 8], dtype=np.int64)


def _codes(words: list[str], n: int) -> np.ndarray:
    """Character codes of ``words`` (each exactly ``n`` long, or cut to it), one row each."""
    if not words:
        return np.zeros((0, n), dtype=np.uint32)
    joined = "".join(w[:n] for w in words)
    return np.frombuffer(joined.encode("utf-32-le"), dtype=np.uint32).reshape(len(words), n)


def _suggest_freq(freq: dict[str, int], total: int, word: str) -> int:
    """jieba's ``suggest_freq(word)`` for a user word given without a frequency: cut it with
    the dictionary so far (prefix dict ``freq``), then the smallest frequency keeping it whole."""
    p = 1.0
    for seg in _dict_lcut(freq, total, word):
        p *= freq.get(seg, 1) / float(total)
    return max(int(p * total) + 1, freq.get(word, 1))


def _dict_lcut(freq: dict[str, int], total: int, sentence: str) -> list[str]:
    """The same cut over jieba's own prefix dict (only while building)."""
    logtotal, get = log(total), freq.get
    words: list[str] = []
    for block in RE_HAN.split(sentence):
        if not block:
            continue
        if not RE_HAN.match(block):
            for piece in RE_SKIP.split(block):
                words.append(piece) if RE_SKIP.match(piece) else words.extend(piece)
            continue
        n = len(block)
        score, end = [0.0] * (n + 1), [0] * (n + 1)
        for k in range(n - 1, -1, -1):
            best_score, best_end = 0.0, -1
            i, frag = k, block[k]
            while i < n and (f := get(frag)) is not None:
                if f:
                    sc = log(f) - logtotal + score[i + 1]
                    if best_end < 0 or sc >= best_score:
                        best_score, best_end = sc, i
                i += 1
                frag = block[k : i + 1]
            if best_end < 0:
                best_score, best_end = -logtotal + score[k + 1], k
            score[k], end[k] = best_score, best_end
        _emit(block, 0, n, end, words)
    return words
