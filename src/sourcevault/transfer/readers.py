"""Reading an imported file into entries: one reader per format, no database, no validation.

Each reader turns the file's text into ``Entry`` values in file order; what the contract's
limits make of them is the service's business. An entry the format's own parser could not
read at all comes back with ``problem`` set, so that it is reported, not lost.

How each format maps onto a source (the README repeats this for users):

* BibTeX (``bibtexparser`` 2): ``title``; ``url``, else ``https://doi.org/`` + ``doi``;
  ``annote``, else ``abstract``; ``keywords`` split on commas. LaTeX in the title, the
  annotation and the keywords is turned into text (``{\\"u}`` is ``ü``); the URL is kept as
  written.
* RIS (``rispy``): ``TI`` (or ``T1``); the first ``UR``, else ``DO`` as a doi.org link;
  the ``N1`` notes joined by line breaks, else ``AB``; every ``KW`` a tag.
* Netscape bookmarks HTML (Firefox, Chrome, Edge, Safari): every ``<A HREF>`` is an entry;
  its ``<DD>`` description is the annotation; the names of the folders it sits in are its
  tags, outermost first, except the browsers' own top folders (the bookmarks bar or toolbar,
  "Other bookmarks", the menu); Firefox's ``TAGS`` attribute adds its tags.
* CSV: a header row naming columns among ``title,url,annotation,tags``; ``tags`` holds the
  tags separated by ``|``.
* JSON: our own export (``{"sources": [...]}``) or a bare list of such objects; of each,
  ``title``, ``url``, ``annotation`` and ``tags`` are read and the rest (ids, versions,
  authors, times) is the new vault's own.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass, field
from enum import StrEnum
from functools import cache
from html.parser import HTMLParser
from typing import TYPE_CHECKING, Any

from sourcevault.errors import ValidationFailed

if TYPE_CHECKING:
    from pylatexenc.latex2text import LatexNodes2Text

# The parsers (rispy, bibtexparser, pylatexenc) are imported by the reader that uses them, at
# the first import of their format: a server's start, which clients coming back after a restart
# wait out, does not load them.


class ImportFormat(StrEnum):
    BIBTEX = "bibtex"
    RIS = "ris"
    BOOKMARKS = "bookmarks"
    CSV = "csv"
    JSON = "json"


CSV_COLUMNS = ("title", "url", "annotation", "tags")
CSV_TAG_SEPARATOR = "|"
DOI_PREFIX = "https://doi.org/"


@dataclass
class Entry:
    """One entry of the file, as read. Values are whatever the file held (any type, for
    JSON); ``problem`` says why the format's parser could not read it."""

    title: Any = None
    url: Any = None
    annotation: Any = None
    tags: Any = field(default_factory=list)
    problem: str | None = None


def read(fmt: ImportFormat, text: str) -> list[Entry]:
    """The file's entries in order; ``ValidationFailed`` when the file as a whole is not of
    the format (malformed JSON, a CSV without a title column)."""
    if fmt not in (ImportFormat.CSV, ImportFormat.JSON):  # those two keep a quoted "\r\n"
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    return _READERS[fmt](text)


def _refuse(message: str) -> ValidationFailed:
    return ValidationFailed([{"field": "body", "message": message}], f"body: {message}")


# -- BibTeX ----------------------------------------------------------------------------------


@cache
def _latex() -> LatexNodes2Text:
    from pylatexenc.latex2text import LatexNodes2Text

    return LatexNodes2Text()


# Braces alone only group (Zotero wraps capitals in them: "{AlphaFold}"); these need the
# decoder, which takes a good part of a millisecond a field.
_LATEX_MARKS = frozenset("\\$~")


# What the decoder reads otherwise: "\^{}" is an accent on nothing to it, and
# "\textasciicircum" a modifier letter, where both mean a plain "^".
_CARET = "\ue000"
_LITERALS = ((r"\^{}", _CARET), (r"\textasciicircum{}", _CARET))


def _from_latex(value: str) -> str:
    """LaTeX to text, only where there is LaTeX to read (the decoder is slow)."""
    if not _LATEX_MARKS.intersection(value):
        return value.replace("{", "").replace("}", "").strip()
    for latex, stand_in in _LITERALS:
        value = value.replace(latex, stand_in)
    return str(_latex().latex_to_text(value)).replace(_CARET, "^").strip()


def _bibtex(text: str) -> list[Entry]:
    from bibtexparser.entrypoint import parse_string

    library = parse_string(text)
    # Blocks come back by kind; put the entries and the failures back into file order.
    blocks: list[tuple[int, Entry]] = []
    for item in library.entries:
        fields = {f.key.lower(): f.value for f in item.fields}
        blocks.append((item.start_line or 0, _bibtex_entry(fields)))
    for failed in library.failed_blocks:
        line = failed.start_line or 0
        problem = f"An unreadable BibTeX entry, at line {line + 1}"
        blocks.append((line, Entry(problem=problem)))
    blocks.sort(key=lambda pair: pair[0])
    return [entry for _line, entry in blocks]


def _bibtex_entry(fields: dict[str, Any]) -> Entry:
    def text(key: str) -> str | None:
        value = fields.get(key)
        if not isinstance(value, str) or not value.strip():
            return None
        return _from_latex(value)

    url = fields.get("url")
    url = url.strip() if isinstance(url, str) and url.strip() else None
    doi = fields.get("doi")
    if url is None and isinstance(doi, str) and doi.strip():
        url = DOI_PREFIX + doi.strip()
    keywords = text("keywords")
    tags = [t.strip() for t in keywords.split(",")] if keywords else []
    return Entry(
        title=text("title"),
        url=url,
        annotation=text("annote") or text("abstract"),
        tags=[t for t in tags if t],
    )


# -- RIS -------------------------------------------------------------------------------------


def _ris(text: str) -> list[Entry]:
    import rispy

    # URLs are not split on ";" (rispy's default), which may sit inside a URL.
    records = rispy.loads(text, delimiter_tags_mapping={}, skip_unknown_tags=True)
    return [_ris_entry(record) for record in records]


def _ris_entry(record: dict[str, Any]) -> Entry:
    def first(*keys: str) -> str | None:
        for key in keys:
            value = record.get(key)
            if isinstance(value, list):
                value = next((v for v in value if isinstance(v, str) and v.strip()), None)
            if isinstance(value, str) and value.strip():
                return value.strip()
        return None

    url = first("urls")
    doi = first("doi")
    if url is None and doi is not None:
        url = doi if doi.startswith(("http://", "https://")) else DOI_PREFIX + doi
    notes = record.get("notes") or []
    annotation = "\n".join(n for n in notes if isinstance(n, str)).strip() or None
    return Entry(
        title=first("title", "primary_title"),
        url=url,
        annotation=annotation or first("abstract", "notes_abstract"),
        tags=[k.strip() for k in record.get("keywords") or [] if k.strip()],
    )


# -- Netscape bookmarks ----------------------------------------------------------------------

# The browsers' own top folders mark where a bookmark is kept, not what it is about.
_BROWSER_FOLDER_MARKS = ("personal_toolbar_folder", "unfiled_bookmarks_folder")
_BROWSER_FOLDERS = frozenset(
    {"bookmarks bar", "bookmarks toolbar", "bookmarks menu", "other bookmarks", "mobile bookmarks"}
)


class _Bookmarks(HTMLParser):
    """The Netscape bookmark file: ``<DT><H3>folder</H3><DL><p>`` opens a folder,
    ``<DT><A HREF=...>title</A>`` is a bookmark, ``<DD>text`` describes the one before it,
    ``</DL>`` closes the folder. The format is old, unclosed-tag HTML; this follows the
    tags, not a tree."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.entries: list[Entry] = []
        self.folders: list[str | None] = []  # None: a folder that gives no tag
        self._heading: list[str] | None = None
        self._heading_attrs: dict[str, str | None] = {}
        self._pending_folder: str | None = None
        self._pending_is_folder = False
        self._link: list[str] | None = None
        self._description: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("dt", "dl", "h3", "a"):
            self._end_description()
        if tag == "h3":
            self._heading = []
            self._heading_attrs = dict(attrs)
        elif tag == "dl":
            self.folders.append(self._pending_folder if self._pending_is_folder else None)
            self._pending_is_folder = False
            self._pending_folder = None
        elif tag == "a":
            values = dict(attrs)
            own = [t.strip() for t in (values.get("tags") or "").split(",") if t.strip()]
            self.entries.append(Entry(url=(values.get("href") or "").strip() or None, tags=own))
            self._link = []
        elif tag == "dd" and self.entries:
            self._description = []

    def handle_endtag(self, tag: str) -> None:
        if tag == "h3" and self._heading is not None:
            name = " ".join("".join(self._heading).split())
            marked = any(mark in self._heading_attrs for mark in _BROWSER_FOLDER_MARKS)
            top = len(self.folders) <= 1 and name.lower() in _BROWSER_FOLDERS
            self._pending_folder = None if marked or top or not name else name
            self._pending_is_folder = True
            self._heading = None
        elif tag == "a" and self._link is not None:
            entry = self.entries[-1]
            entry.title = " ".join("".join(self._link).split()) or None
            folder_tags = [f for f in self.folders if f]
            entry.tags = list(dict.fromkeys([*folder_tags, *entry.tags]))
            self._link = None
        elif tag == "dl":
            self._end_description()
            if self.folders:
                self.folders.pop()

    def handle_data(self, data: str) -> None:
        for sink in (self._heading, self._link, self._description):
            if sink is not None:
                sink.append(data)

    def _end_description(self) -> None:
        if self._description is not None:
            text = "".join(self._description).strip()
            if text:
                self.entries[-1].annotation = text
            self._description = None


def _bookmarks(text: str) -> list[Entry]:
    parser = _Bookmarks()
    parser.feed(text)
    parser.close()
    parser._end_description()
    if not parser.entries and "<a" not in text.lower():
        raise _refuse("Not a bookmarks file: it holds no <A HREF> link")
    for entry in parser.entries:
        if entry.title is None:
            entry.title = entry.url  # as the browsers show an untitled bookmark
    return parser.entries


# -- CSV -------------------------------------------------------------------------------------


def _csv(text: str) -> list[Entry]:
    rows = csv.reader(io.StringIO(text))
    try:
        header = [h.strip().lower() for h in next(rows)]
    except StopIteration:
        return []
    except csv.Error as exc:
        raise _refuse(f"Malformed CSV: {exc}") from None
    unknown = [h for h in header if h not in CSV_COLUMNS]
    if unknown or "title" not in header or len(set(header)) != len(header):
        raise _refuse(
            "The first row must name columns among " + ",".join(CSV_COLUMNS) + " (title "
            "required, each once)" + (f"; unknown: {', '.join(unknown)}" if unknown else "")
        )
    entries = []
    try:
        for row in rows:
            if not any(cell.strip() for cell in row):
                continue  # a blank line
            if len(row) > len(header):
                entries.append(Entry(problem=f"{len(row)} cells for {len(header)} columns"))
                continue
            values = dict(zip(header, row, strict=False))
            tags = values.get("tags") or ""
            entries.append(
                Entry(
                    title=values.get("title") or None,
                    url=(values.get("url") or "").strip() or None,
                    annotation=values.get("annotation") or None,
                    tags=[t.strip() for t in tags.split(CSV_TAG_SEPARATOR) if t.strip()],
                )
            )
    except csv.Error as exc:
        raise _refuse(f"Malformed CSV: {exc}") from None
    return entries


# -- JSON ------------------------------------------------------------------------------------


def _json(text: str) -> list[Entry]:
    try:
        data = json.loads(text)
    except (ValueError, RecursionError):
        raise _refuse("Malformed JSON") from None
    items = data.get("sources") if isinstance(data, dict) else data
    if not isinstance(items, list):
        raise _refuse('Expected our export ({"sources": [...]}) or a list of sources')
    entries = []
    for item in items:
        if not isinstance(item, dict):
            entries.append(Entry(problem="not an object"))
            continue
        tags = item.get("tags")
        entries.append(
            Entry(
                title=item.get("title"),
                url=item.get("url"),
                annotation=item.get("annotation"),
                tags=[] if tags is None else tags,
            )
        )
    return entries


_READERS = {
    ImportFormat.BIBTEX: _bibtex,
    ImportFormat.RIS: _ris,
    ImportFormat.BOOKMARKS: _bookmarks,
    ImportFormat.CSV: _csv,
    ImportFormat.JSON: _json,
}
