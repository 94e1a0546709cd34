from __future__ import annotations

import re
from typing import Annotated, cast
from urllib.parse import urlsplit

from pydantic import (
    AfterValidator,
    Field,
    StrictInt,
    StringConstraints,
    WithJsonSchema,
    field_validator,
)

from sourcevault.events import SourcePayload
from sourcevault.schema import (
    NOT_BLANK,
    InputModel,
    Timestamp,
    WireModel,
    not_null,
    not_null_schema,
)

# A space (``str.isspace``, which ``\s`` matches exactly) or a control character: one search in
# C rather than a Python test per character (an import checks thousands of URLs).
_SPACE_OR_CONTROL = re.compile(r"[\s\x00-\x1f]")


def _http_url(value: str) -> str:
    if _SPACE_OR_CONTROL.search(value):
        raise ValueError("URL may not contain spaces or control characters")
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018  (raises on a malformed port)
    except ValueError as exc:
        raise ValueError("not a valid URL") from exc
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        raise ValueError("must be an absolute http or https URL")
    return value


Title = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500), NOT_BLANK
]
# What the schema promises is narrower than what _http_url accepts (no user info, ASCII host),
# so every URL a client builds from the schema is accepted.
URL_SCHEMA = {
    "type": "string",
    "minLength": 1,
    "maxLength": 2048,
    "pattern": r"^[Hh][Tt][Tt][Pp][Ss]?://[A-Za-z0-9.-]+(:[0-9]{1,4})?([/?#][^\s\x00-\x1f]*)?$",
}
Url = Annotated[
    str,
    StringConstraints(min_length=1, max_length=2048),
    AfterValidator(_http_url),
    WithJsonSchema(URL_SCHEMA),
]
Annotation = Annotated[str, StringConstraints(max_length=10_000)]
Tag = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=50), NOT_BLANK
]
Tags = Annotated[list[Tag], Field(max_length=20)]


class SourceFields(InputModel):
    url: Url | None = None
    annotation: Annotation | None = None


class SourceCreate(SourceFields):
    title: Title
    tags: Tags = Field(default_factory=list)


Version = Annotated[StrictInt, Field(ge=1, le=2**53)]


class SourceUpdate(SourceFields):
    title: Title | None = Field(None, json_schema_extra=not_null_schema)
    tags: Tags | None = Field(None, json_schema_extra=not_null_schema)
    # The version the editor started from: when given and no longer current, the update is
    # refused with CONFLICT and the current source, so no edit silently overwrites another.
    version: Version | None = Field(None, json_schema_extra=not_null_schema)

    _not_null = field_validator("title", "tags", "version", mode="before")(not_null)


class Creator(WireModel):
    user_id: str
    user_name: str


class SourceOut(WireModel):
    id: str
    vault_id: str
    title: str
    url: str | None
    annotation: str | None
    tags: list[str]
    version: int
    created_by: Creator
    created_at: Timestamp
    updated_at: Timestamp

    def payload(self) -> SourcePayload:
        """The source as its events carry it."""
        return cast("SourcePayload", self.wire())


class SourceEnvelope(WireModel):
    source: SourceOut


class SourcePage(WireModel):
    sources: list[SourceOut]
    seq: int
    next_cursor: str | None
