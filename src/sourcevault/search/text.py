"""What a word is, what a query means, and both written in each backend's index language.

The words of a text are its runs of letters, digits and marks (``str.isalnum``, Unicode
category M), after compatibility decomposition (NFKD: "ﬁ" is "fi"), case folding ("ß" is "ss")
and dropping the accents (combining marks: "Café" is "cafe", "İ" is "i"), each cut to
``MAX_WORD`` characters. Python finds them for
both backends, so SQLite and PostgreSQL index exactly the same words and agree on every
query: SQLite's FTS5 gets them space-separated, under its ``ascii`` tokenizer (which splits on
ASCII spaces and punctuation only, and our words hold none); PostgreSQL gets a ``tsvector``
literal with the positions and field weights spelled out, so no text parser, stemmer or stop
list of either database decides anything.

A query is a list of terms, all of which must match (AND): a bare word, a ``"quoted phrase"``,
either with a ``*`` straight after it for a prefix (of its last word). A bare chunk that holds
several words (``arxiv.org``) is a phrase. A term matches a source when its words appear one
after another in one field value: the title, one tag, the url or the annotation. Nothing of
the query is passed to a database's own query syntax: each term is rebuilt from its words.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

MAX_WORD = 100  # characters; PostgreSQL refuses lexemes over 2 KB
MAX_QUERY = 500  # characters of ``q``

# Field, its rank weight, and its tsvector weight letter; the order of the FTS5 columns.
FIELDS = (("title", 8, "A"), ("tags", 4, "B"), ("url", 2, "C"), ("annotation", 1, "D"))

# Between two tags in the FTS5 ``tags`` column: a token no query can produce (it holds no
# letter or digit), so no phrase reaches across two tags.
TAG_BREAK = "\u2063"


def _fold(text: str) -> str:
    """Decomposed, case-folded (which may decompose further), without combining marks."""
    decomposed = unicodedata.normalize("NFKD", unicodedata.normalize("NFKD", text).casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def _in_word(char: str) -> bool:
    return char.isalnum() or unicodedata.category(char).startswith("M")


_ASCII_WORD = re.compile(r"[a-z0-9]+")


def words(text: str) -> list[str]:
    if text.isascii():
        # The same words, found faster: ASCII is its own NFKD form, its case folding is
        # lower-casing, it holds no mark, and its letters and digits are [a-z0-9] once lowered.
        return [word[:MAX_WORD] for word in _ASCII_WORD.findall(text.lower())]
    found: list[str] = []
    start = None
    folded = _fold(text)
    for i, char in enumerate(folded):
        if _in_word(char):
            if start is None:
                start = i
        elif start is not None:
            found.append(folded[start:i][:MAX_WORD])
            start = None
    if start is not None:
        found.append(folded[start:][:MAX_WORD])
    return found


@dataclass(frozen=True)
class Term:
    words: tuple[str, ...]
    prefix: bool


_CHUNK = re.compile(r'"([^"]*)"?(\**)|([^\s"]+)')


def parse(query: str) -> list[Term]:
    """The terms of a query; a chunk without a word (``-``, ``""``) is no term."""
    terms = []
    for quoted, quoted_stars, bare in _CHUNK.findall(query):
        if bare:
            stripped = bare.rstrip("*")
            found, prefix = words(stripped), stripped != bare
        else:
            found, prefix = words(quoted), bool(quoted_stars)
        if found:
            terms.append(Term(tuple(found), prefix))
    return terms


# -- SQLite FTS5 --------------------------------------------------------------------------------


def fts_columns(
    title: str, tags: list[str], url: str | None, annotation: str | None
) -> dict[str, str]:
    """The FTS5 row of a source: each field's words, space-separated."""
    return {
        "title": " ".join(words(title)),
        "tags": f" {TAG_BREAK} ".join(" ".join(words(tag)) for tag in tags),
        "url": " ".join(words(url or "")),
        "annotation": " ".join(words(annotation or "")),
    }


def _fts_term(term: Term) -> str:
    # Our words hold no double quote, so a quoted FTS5 string holds them verbatim.
    return '"' + " ".join(term.words) + '"' + (" *" if term.prefix else "")


def fts_match(terms: list[Term]) -> str:
    """An FTS5 MATCH expression: every term, in any field."""
    return " AND ".join(f"({_fts_term(term)})" for term in terms)


def fts_field_match(terms: list[Term], field: str) -> str:
    """An FTS5 MATCH expression: any term, in ``field``."""
    return "{" + field + "} : (" + " OR ".join(_fts_term(term) for term in terms) + ")"


# -- PostgreSQL tsvector ------------------------------------------------------------------------

_MAX_POSITION = 16383  # tsvector's; a source's words stay well below it (about 6,500 at most)


def _lexeme(word: str) -> str:
    return "'" + word.replace("\\", "\\\\").replace("'", "''") + "'"


def tsvector(title: str, tags: list[str], url: str | None, annotation: str | None) -> str:
    """A ``tsvector`` literal of a source: each word at its position, weighted by its field
    (title A, tags B, url C, annotation D), with a gap between fields and between tags, so no
    phrase reaches across them."""
    positions: dict[str, list[str]] = {}
    position = 0
    values = {"title": [title], "tags": tags, "url": [url or ""], "annotation": [annotation or ""]}
    for field, _rank, weight in FIELDS:
        for value in values[field]:
            position += 1  # the gap
            for word in words(value):
                position += 1
                at = min(position, _MAX_POSITION)
                positions.setdefault(word, []).append(f"{at}{weight}")
    return " ".join(f"{_lexeme(word)}:{','.join(at)}" for word, at in positions.items())


def _ts_term(term: Term, weight: str = "") -> str:
    last = len(term.words) - 1
    return " <-> ".join(
        _lexeme(word) + (":" + ("*" if term.prefix and i == last else "") + weight)
        if weight or (term.prefix and i == last)
        else _lexeme(word)
        for i, word in enumerate(term.words)
    )


def tsquery(terms: list[Term]) -> str:
    """A ``tsquery`` literal: every term, in any field."""
    return " & ".join(f"({_ts_term(term)})" for term in terms)


def ts_field_query(terms: list[Term], weight: str) -> str:
    """A ``tsquery`` literal: any term, in the field of ``weight``."""
    return " | ".join(f"({_ts_term(term, weight)})" for term in terms)


def ts_any_query(terms: list[Term]) -> str:
    """A ``tsquery`` literal: any term, in any field; asked of one field's part of a
    ``tsvector`` (cut out by ``ts_filter``), any term in that field."""
    return " | ".join(f"({_ts_term(term)})" for term in terms)
