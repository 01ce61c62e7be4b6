"""jieba's dictionary segmentation (``Tokenizer.lcut(text, HMM=False)``), computed in one pass.

jieba 0.42.1 (pinned; its last release) builds a DAG of dictionary words with one dict
lookup per step, looks every edge up again to score it, and takes the best route with a
generator per character. Segmentation was the largest part of a prediction, so this does
the same dynamic programme with one lookup per step and plain lists. It reads the
tokenizer's own dictionary and regular expressions and does the same float operations in
the same order, so the words are the same (tests/test_segment.py checks every text of the
project's data against jieba).
"""

from __future__ import annotations

import sys
from math import log
from typing import Any

__all__ = ["lcut_no_hmm"]


def lcut_no_hmm(tk: Any, sentence: str) -> list[str]:
    """``tk.lcut(sentence, HMM=False)`` for an initialized ``jieba.Tokenizer`` ``tk``."""
    jieba = sys.modules["jieba"]  # imported by whoever built tk
    re_han, re_skip, is_eng = jieba.re_han_default, jieba.re_skip_default, jieba.re_eng.match
    logtotal = log(tk.total)
    words: list[str] = []
    for block in re_han.split(sentence):
        if not block:
            continue
        if re_han.match(block):
            _cut_block(tk.FREQ, logtotal, block, is_eng, words)
            continue
        for piece in re_skip.split(block):
            if re_skip.match(piece):
                words.append(piece)
            else:
                words.extend(piece)  # one character at a time, as jieba yields them
    return words


def _cut_block(freq: dict[str, int], logtotal: float, s: str, is_eng: Any, out: list[str]) -> None:
    n = len(s)
    get = freq.get
    score = [0.0] * (n + 1)  # route[i][0] of jieba's calc: best log-probability from i on
    end = [0] * (n + 1)  # route[i][1]: last character of the first word from i
    for k in range(n - 1, -1, -1):
        best_score, best_end = 0.0, -1
        i, frag = k, s[k]
        while i < n:
            f = get(frag)
            if f is None:
                break
            if f:  # a word, not just a prefix of one
                sc = log(f) - logtotal + score[i + 1]
                # max() over (score, end) tuples: a tie goes to the later (longer) word.
                if best_end < 0 or sc >= best_score:
                    best_score, best_end = sc, i
            i += 1
            frag = s[k : i + 1]
        if best_end < 0:  # no word starts here: the character alone, scored log(1)
            best_score, best_end = -logtotal + score[k + 1], k
        score[k], end[k] = best_score, best_end
    x, buf = 0, ""
    while x < n:
        y = end[x] + 1
        word = s[x:y]
        if y - x == 1 and is_eng(word):  # single letters and digits run together
            buf += word
        else:
            if buf:
                out.append(buf)
                buf = ""
            out.append(word)
        x = y
    if buf:
        out.append(buf)
