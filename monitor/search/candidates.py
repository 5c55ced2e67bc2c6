"""Which blocks contain a search term: candidates from the index, confirmed on the text.

A query is folded like a watched term and matched like one (a substring, Chinese
without spaces included; a term starting with a Latin letter or digit must start a
word). The FTS5 tables only propose candidate blocks; every candidate that they cannot
vouch for is confirmed on its folded text with the same rule as term flags
(``analysis.flag.occurs``), so the index can never report what ``monitor show`` would
not show. Which table answers which term: see :func:`matching_blocks`.
"""

from __future__ import annotations

import re
from typing import Any

from ..analysis.flag import occurs
from .blocks import CJK, char_tokens, needs_trigrams
from .index import SearchIndex

_ONLY_CJK = re.compile("[\u3040-\u30ff\u31f0-\u31ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+")
_SHORT_WORD = re.compile("[0-9a-z]{1,2}")
# Characters that are a token for unicode61 in every Unicode version. A plain term with
# none of them may have no token at all, and an empty phrase finds nothing: it is a scan.
_SURE_TOKEN = re.compile(
    r"[0-9a-z\u00c0-\u00d6\u00d8-\u00f6\u00f8-\u017f\u03b1-\u03c9\u0430-\u044f"
    r"\u3041-\u3096\u30a1-\u30fa\u3400-\u4db5\u4e00-\u9fa5]"
)
# A last character after which the term's last token is whole: ASCII punctuation, Han.
_COMPLETE_END = re.compile(rf"[\x00-\x2f\x3a-\x40\x5b-\x60\x7b-\x7f{CJK}]")


def matching_blocks(index: SearchIndex, term: str) -> list[int]:
    """Blocks whose folded text contains the term by the watched-term rule."""
    # A trigram phrase is exactly a substring query: only a term that must start a word
    # needs its candidates confirmed. Per-character phrases may span punctuation.
    db, confirm = index.db, bool(_WORD_START.match(term))
    if not index.fts:  # PostgreSQL: LIKE, which pg_trgm serves from 3 characters on
        if "\x00" in term:
            return []  # PostgreSQL text holds no NUL: no block has it
        sql, param = _LIKE, "%" + re.sub(r"([\\%_])", r"\\\1", term) + "%"
    elif "\x00" in term:  # FTS5 reads NUL as the end of its query: scan instead
        sql, param, confirm = _SCAN, term, True
    elif len(term) >= 3:
        sql, param = _TRIGRAMS, '"' + term.replace('"', '""') + '"'  # quotes doubled
        if not needs_trigrams(term):  # it may be in a block without trigrams: see below
            if not _SURE_TOKEN.search(term):  # maybe no word at all: scan every block
                sql, param, confirm = _SCAN, term, True
            else:
                found = _candidates(db, sql, param, confirm, term)
                return list(dict.fromkeys(found + _by_words(db, term)))
    elif _ONLY_CJK.fullmatch(term):  # one or two Han/kana characters (two may straddle
        # punctuation, which is no token: those are confirmed; one is the token itself)
        sql, param, confirm = _CHARS, '"' + " ".join(term) + '"', len(term) > 1
    elif _SHORT_WORD.fullmatch(term):  # a short word start: a prefix query
        sql, param, confirm = _CHARS, f'"{term}" *', True
    else:  # e.g. "%" or "é." : rare, and a scan of the folded blocks answers it
        sql, param, confirm = _SCAN, term, True
    return _candidates(db, sql, param, confirm, term)


def _candidates(db: Any, sql: str, param: str, confirm: bool, term: str) -> list[int]:
    if not confirm:  # the index alone answers: no block text is read
        columns = "b.id" if sql is _LIKE else "f.rowid"
        return [row[0] for row in db.execute(sql.format(columns=columns), (param,))]
    rows = db.execute(sql.format(columns="b.id, b.folded"), (param,))
    return [block for block, folded in rows if occurs(folded, term)]


def _by_words(db: Any, term: str) -> list[int]:
    """The blocks without trigrams (storing.py) that contain a term, by its words.

    Such a block has only plain characters (``blocks.needs_trigrams``), and so has any
    term in it. In ``search_chars`` its Han and kana are one token each; its other
    tokens are runs of ASCII letters and digits and of the letters that start a word
    for the watched-term rule, everything else plain being a separator. Where the term
    occurs, its first token starts a token of the block too: after the term's leading
    separator or Han character, or at a word start (the rule for a term that starts
    with such a letter, and what precedes it then is a separator). Its inner tokens are
    whole tokens of the block; its last one may go on (a prefix query) unless the term
    ends with punctuation or Han. So the phrase of its tokens finds every such block
    that contains the term, and some that do not, which are confirmed away.
    """
    prefix = "" if _COMPLETE_END.match(term[-1]) else " *"
    phrase = '"' + char_tokens(term).replace('"', '""') + '"' + prefix
    return _candidates(db, _CHARS, phrase, True, term)


_TRIGRAMS = (
    "SELECT {columns} FROM search_trigrams f JOIN search_blocks b ON b.id = f.rowid "
    "WHERE search_trigrams MATCH ?"
)
_CHARS = (
    "SELECT {columns} FROM search_chars f JOIN search_blocks b ON b.id = f.rowid "
    "WHERE search_chars MATCH ?"
)
_SCAN = "SELECT {columns} FROM search_blocks b WHERE instr(b.folded, ?) > 0"
_LIKE = "SELECT {columns} FROM search_blocks b WHERE b.folded LIKE ?"  # \ escapes
_WORD_START = re.compile("[0-9a-z\u00c0-\u024f\u0370-\u03ff\u0400-\u04ff]")
