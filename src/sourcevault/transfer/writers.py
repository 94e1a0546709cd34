"""Writing sources in an export format, a page at a time, so an export is streamed.

Each writer gives the text before the first source, the text of a page of sources (the
contract's ``Source`` objects, camelCase), and the text after the last. What the readers
(``readers.py``) read back from it is the same title, URL, annotation and tags.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import orjson

from sourcevault.transfer.readers import CSV_COLUMNS, CSV_TAG_SEPARATOR


class ExportFormat(StrEnum):
    JSON = "json"
    BIBTEX = "bibtex"
    RIS = "ris"
    CSV = "csv"


Source = dict[str, Any]


@dataclass(frozen=True)
class Writer:
    extension: str
    media_type: str
    head: Callable[[dict[str, Any]], str]
    page: Callable[[Sequence[Source], bool], str]  # (sources, first page?)
    tail: str


# -- JSON: our own format, {"format", "version", "exportedAt", "vault", "sources": [...]} -----


def _json_head(meta: dict[str, Any]) -> str:
    head = orjson.dumps({"format": "sourcevault", "version": 1, **meta}).decode()
    return head[:-1] + ',"sources":['


def _json_page(sources: Sequence[Source], first: bool) -> str:
    body = ",".join(orjson.dumps(s).decode() for s in sources)
    return body if first or not body else "," + body


# -- BibTeX: one @misc per source; LaTeX's special characters escaped, non-ASCII kept --------

_LATEX_ESCAPES = {
    "\\": r"\textbackslash{}",
    "{": r"\{",
    "}": r"\}",
    "%": r"\%",
    "&": r"\&",
    "$": r"\$",
    "#": r"\#",
    "_": r"\_",
    "~": r"\textasciitilde{}",
    "^": r"\^{}",
}
_LATEX_TABLE = str.maketrans(_LATEX_ESCAPES)


def to_latex(text: str) -> str:
    return text.translate(_LATEX_TABLE)


def _bibtex_url(url: str) -> str:
    """A URL is kept as written; only braces, which would end the field, are percent-encoded."""
    return url.replace("{", "%7B").replace("}", "%7D")


def _bibtex_page(sources: Sequence[Source], _first: bool) -> str:
    out = []
    for s in sources:
        fields = [f"  title = {{{to_latex(s['title'])}}}"]
        if s["url"]:
            fields.append(f"  url = {{{_bibtex_url(s['url'])}}}")
        if s["annotation"]:
            fields.append(f"  annote = {{{to_latex(s['annotation'])}}}")
        if s["tags"]:
            fields.append(f"  keywords = {{{to_latex(', '.join(s['tags']))}}}")
        out.append(f"@misc{{sv{s['id']},\n" + ",\n".join(fields) + "\n}\n\n")
    return "".join(out)


# -- RIS: one ELEC record per source; a multi-line annotation is one N1 line per line --------


def _ris_page(sources: Sequence[Source], _first: bool) -> str:
    out = []
    for s in sources:
        lines = ["TY  - ELEC", f"TI  - {_one_line(s['title'])}"]
        if s["url"]:
            lines.append(f"UR  - {s['url']}")
        if s["annotation"]:
            lines.extend(f"N1  - {line}" for line in s["annotation"].split("\n"))
        lines.extend(f"KW  - {tag}" for tag in s["tags"])
        lines.append(f"ID  - {s['id']}")
        lines.append("ER  - ")
        out.append("\n".join(lines) + "\n\n")
    return "".join(out)


def _one_line(text: str) -> str:
    return " ".join(text.split("\n"))


# -- CSV: title,url,annotation,tags with the tags joined by "|" ------------------------------


def _csv_rows(rows: list[list[str]]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerows(rows)
    return buffer.getvalue()


def _csv_page(sources: Sequence[Source], _first: bool) -> str:
    return _csv_rows(
        [
            [
                s["title"],
                s["url"] or "",
                s["annotation"] or "",
                CSV_TAG_SEPARATOR.join(s["tags"]),
            ]
            for s in sources
        ]
    )


WRITERS = {
    ExportFormat.JSON: Writer("json", "application/json", _json_head, _json_page, "]}\n"),
    ExportFormat.BIBTEX: Writer(
        "bib", "application/x-bibtex; charset=utf-8", lambda _m: "", _bibtex_page, ""
    ),
    ExportFormat.RIS: Writer(
        "ris", "application/x-research-info-systems; charset=utf-8", lambda _m: "", _ris_page, ""
    ),
    ExportFormat.CSV: Writer(
        "csv",
        "text/csv; charset=utf-8",
        lambda _m: _csv_rows([list(CSV_COLUMNS)]),
        _csv_page,
        "",
    ),
}
