"""Character n-gram columns of a document found with one ``np.searchsorted``.

Building every n-gram as a string and looking each up in a dict costs some 400 instructions
an n-gram (a 100-character text has about 300). Here each n-gram of up to 4 characters is an
integer, 16 bits a character, the first in the highest bits (as ``segment._pack`` packs
words), so the n-grams of every position are bit masks of one 4-character window, and the
vocabulary is a sorted array of the same integers. A document with a character this cannot
pack (beyond U+FFFF, U+0000 or U+FFFF) is the caller's to look up the plain way:
``columns`` returns None for it. tests/test_chargrams.py checks the columns against the
string lookup.
"""

from __future__ import annotations

import numpy as np

__all__ = ["CharTable"]

_SENTINEL = np.array([0xFFFFFFFFFFFFFFFF], dtype=np.uint64)  # U+FFFF x 4: no n-gram packs to it
# The first 1, 2, 3 and 4 characters of a window.
_MASKS = np.array([0xFFFF << 48, 0xFFFFFFFF << 32, 0xFFFFFFFFFFFF << 16, 0xFFFFFFFFFFFFFFFF], dtype=np.uint64)
_PAD = "\uffff" * 3  # past the end of the text: an n-gram reaching there packs to no term


class CharTable:
    """The packed terms of one character block, n-grams of ``lo`` to ``hi`` <= 4 characters,
    each with its value (the caller's column + 1)."""

    def __init__(self, terms: list[str], values: range | list[int], lo: int, hi: int) -> None:
        if not 1 <= lo <= hi <= 4:
            raise ValueError(f"a packed character table holds n-grams of 1 to 4 characters, not {lo}-{hi}")
        # Packed with numpy, length by length: a loop over the terms cost 0.15 s at load.
        lengths = np.fromiter(map(len, terms), dtype=np.int64, count=len(terms))
        starts = np.cumsum(lengths) - lengths
        codes = np.frombuffer("".join(terms).encode("utf-32-le", "surrogatepass"), dtype=np.uint32).astype(
            np.uint64
        )
        value = np.asarray(values, dtype=np.int64)
        keys, vals = [np.zeros(0, dtype=np.uint64)], [np.zeros(0, dtype=np.int64)]
        for n in range(lo, hi + 1):
            which = np.flatnonzero(lengths == n)
            chars = codes[starts[which, None] + np.arange(n)]  # one row of character codes a term
            # Any other term cannot occur in a document this table reads.
            ok = np.all((chars > 0) & (chars < 0xFFFF), axis=1)
            shifts = np.arange(48, 48 - 16 * n, -16, dtype=np.uint64)
            keys.append(np.bitwise_or.reduce(chars[ok] << shifts, axis=1))
            vals.append(value[which[ok]])
        key, val = np.concatenate(keys), np.concatenate(vals)
        order = np.argsort(key, kind="stable")
        self.keys = np.concatenate([key[order], _SENTINEL])
        self.values = np.concatenate([val[order], [0]])
        self.masks = _MASKS[lo - 1 : hi]

    def columns(self, text: str) -> np.ndarray | None:
        """The values of ``text``'s n-grams that are terms, one per occurrence (in no order),
        or None when ``text`` has a character that cannot be packed."""
        raw = (text + _PAD).encode("utf-16-be", "surrogatepass")  # a lone surrogate packs as itself
        n = len(text)
        if len(raw) != 2 * (n + 3) or "\x00" in text or "\uffff" in text:
            return None
        window = np.ndarray((n,), dtype=">u8", buffer=raw, strides=(2,)).astype(np.uint64)
        grams = (window[:, None] & self.masks).ravel()
        at = np.searchsorted(self.keys, grams)  # the sentinel keeps ``at`` in range
        found: np.ndarray = self.values[at[self.keys[at] == grams]]
        return found
