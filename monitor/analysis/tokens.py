"""Diff tokens: a whole word in space-separated scripts, one character in Chinese and
Japanese, one punctuation mark; reported wording never cuts a word in half."""

from __future__ import annotations

import re

from ..documents.textnorm import HAN_KANA

_CJK = HAN_KANA  # Han ideographs, kana (incl. half-width katakana): a token per character
_WORD_CHAR = rf"[^\W{_CJK}]"
# A half-width katakana keeps its voiced mark (ﾃﾞ is one character, デ, once NFKC'd).
_TOKEN = re.compile(
    rf"[\uff66-\uff9d][\uff9e\uff9f]?|[{_CJK}]|{_WORD_CHAR}+(?:['’.\-]{_WORD_CHAR}+)*|\s+|.",
    re.DOTALL,
)
# Separates blocks inside a token diff; never part of reported wording.
SEPARATOR = "\x00"


def tokenize(text: str) -> list[str]:
    """Split text into diff tokens.

    >>> tokenize("Use v1.2.3 of face-detection, don't!")
    ['Use', ' ', 'v1.2.3', ' ', 'of', ' ', 'face-detection', ',', ' ', "don't", '!']
    >>> tokenize("是否是维族 API")
    ['是', '否', '是', '维', '族', ' ', 'API']
    """
    return _TOKEN.findall(text)
