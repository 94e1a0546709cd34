"""The base of every wire schema: camelCase on the wire, snake_case in Python, contract times."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import Path
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    GetJsonSchemaHandler,
    PlainSerializer,
    StringConstraints,
    WithJsonSchema,
    field_validator,
)
from pydantic.alias_generators import to_camel
from pydantic.config import JsonDict
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema

from sourcevault.db.base import iso

Timestamp = Annotated[
    datetime,
    PlainSerializer(iso, return_type=str),
    WithJsonSchema({"type": "string", "format": "date-time"}),
]


def _email(value: str) -> str:
    local, at, domain = value.rpartition("@")
    if not at or not local or "." not in domain.strip(".") or any(c.isspace() for c in value):
        raise ValueError("not a valid email address")
    return value.lower()


# Emails are compared and stored lower-cased, so "Ada@X.org" and "ada@x.org" are one account.
Email = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=3, max_length=320),
    AfterValidator(_email),
    WithJsonSchema({"type": "string", "format": "email", "minLength": 3, "maxLength": 320}),
]


# An id in a URL path. Ids are opaque, but never empty, long, or holding a NUL (which
# PostgreSQL cannot even compare): such a path gets a VALIDATION_ERROR, as it would on the socket.
PathId = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[^\x00]+$")]


class _NotBlank:
    """Schema only: a stripped text field must hold a non-space character, which minLength 1
    alone does not say."""

    def __get_pydantic_json_schema__(
        self, core_schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        schema = handler(core_schema)
        schema["pattern"] = r"\S"
        return schema


NOT_BLANK = _NotBlank()


def not_null(value: object) -> object:
    """For an update field that may be left out but not set to null (use as a before-validator)."""
    if value is None:
        raise ValueError("may not be null")
    return value


def not_null_schema(schema: JsonDict) -> None:
    """The OpenAPI side of ``not_null``: such a field may be left out but is never null, so
    ``Field(None, json_schema_extra=not_null_schema)`` drops the null branch from its schema."""
    any_of = schema.pop("anyOf", [])
    assert isinstance(any_of, list)
    branches = [b for b in any_of if not (isinstance(b, dict) and b.get("type") == "null")]
    if len(branches) == 1 and isinstance(branches[0], dict):
        schema.update(branches[0])
    elif branches:
        schema["anyOf"] = branches
    schema.pop("default", None)


class WireModel(BaseModel):
    """An answer: serialized by alias (camelCase)."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True)

    def wire(self) -> dict[str, object]:
        return self.model_dump(mode="json", by_alias=True)


class InputModel(BaseModel):
    """A request body: camelCase keys, and an unknown key is an error that names it."""

    model_config = ConfigDict(
        alias_generator=to_camel, populate_by_name=True, extra="forbid", str_strip_whitespace=False
    )

    @field_validator("*", mode="after")
    @classmethod
    def _no_nul(cls, value: object) -> object:
        """PostgreSQL cannot store a NUL character in text; refuse it on every backend alike."""
        texts = value if isinstance(value, list) else [value]
        if any(isinstance(text, str) and "\x00" in text for text in texts):
            raise ValueError("may not contain a NUL character")
        return value
