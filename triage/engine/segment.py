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
from math import log
from pathlib import Path

import marisa_trie

__all__ = ["Dictionary", "jieba_dict_path"]

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

    def __init__(self, trie: marisa_trie.Trie, logp: array[float], logtotal: float, maxlen: int) -> None:
        self.trie = trie
        self.logp = logp  # by trie key id
        self.logtotal = logtotal
        self.maxlen = maxlen  # the longest word: no prefix search needs more text

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
        for w in words:
            logp[trie.key_id(w)] = log(freq[w]) - logtotal
        return cls(trie, logp, logtotal, max(map(len, words), default=1))

    def to_bytes(self) -> tuple[bytes, bytes]:
        """(the trie, the log-probabilities as little-endian doubles)."""
        return self.trie.tobytes(), self.logp.tobytes()

    @classmethod
    def from_bytes(cls, trie: bytes, logp: bytes, logtotal: float, maxlen: int) -> Dictionary:
        t = marisa_trie.Trie().frombytes(trie)
        probs = array("d")
        probs.frombytes(logp)
        if len(probs) != len(t):
            raise ValueError(f"the dictionary has {len(t)} words but {len(probs)} probabilities")
        if maxlen < 1:
            raise ValueError(f"the longest word cannot have {maxlen} characters")
        return cls(t, probs, logtotal, maxlen)

    # -- cutting -------------------------------------------------------------------------
    def lcut(self, sentence: str) -> list[str]:
        """``jieba.Tokenizer.lcut(sentence, HMM=False)`` with this dictionary."""
        words: list[str] = []
        for block in RE_HAN.split(sentence):
            if not block:
                continue
            if RE_HAN.match(block):
                self._cut_block(block, words)
                continue
            for piece in RE_SKIP.split(block):
                if RE_SKIP.match(piece):
                    words.append(piece)
                else:
                    words.extend(piece)  # one character at a time, as jieba yields them
        return words

    def _cut_block(self, s: str, out: list[str]) -> None:
        n = len(s)
        prefixes, logp, logtotal = self.trie.iter_prefixes_with_ids, self.logp, self.logtotal
        maxlen = self.maxlen
        score = [0.0] * (n + 1)  # route[i][0] of jieba's calc: best log-probability from i on
        end = [0] * (n + 1)  # route[i][1]: last character of the first word from i
        for k in range(n - 1, -1, -1):
            best_score, best_end = 0.0, -1
            for word, key in prefixes(s[k : k + maxlen]):  # shortest first
                i = k + len(word) - 1
                sc = logp[key] + score[i + 1]
                # max() over (score, end) tuples: a tie goes to the later (longer) word.
                if best_end < 0 or sc >= best_score:
                    best_score, best_end = sc, i
            if best_end < 0:  # no word starts here: the character alone, scored log(1)
                best_score, best_end = -logtotal + score[k + 1], k
            score[k], end[k] = best_score, best_end
        _emit(s, end, out)


def _emit(s: str, end: list[int], out: list[str]) -> None:
    x, buf, n = 0, "", len(s)
    while x < n:
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
        _emit(block, end, words)
    return words
