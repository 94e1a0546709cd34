"""Assertions on the wire shapes CONTRACT.md fixes, shared by the REST tests."""

from __future__ import annotations

import re
from typing import Any

import httpx

TIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")

USER_KEYS = {"id", "email", "name"}
VAULT_KEYS = {"id", "name", "description", "role", "seq", "createdAt", "updatedAt"}
MEMBER_KEYS = {"userId", "name", "email", "role", "joinedAt"}
SOURCE_KEYS = {
    "id", "vaultId", "title", "url", "annotation", "tags", "version", "createdBy", "createdAt",
    "updatedAt",
}  # fmt: skip
EVENT_KEYS = {"seq", "type", "vaultId", "actor", "at"}


def is_time(value: object) -> bool:
    return isinstance(value, str) and TIME.match(value) is not None


def error(response: httpx.Response, status: int, code: str, message: str | None = None) -> None:
    """The answer is the contract's error body with this status and code."""
    assert response.status_code == status, (response.status_code, response.text)
    body = response.json()
    assert set(body) == {"error"}, body
    err = body["error"]
    assert err["code"] == code, body
    assert isinstance(err["message"], str) and err["message"], body
    if message is not None:
        assert err["message"] == message, body
    if code == "VALIDATION_ERROR":
        assert set(err) == {"code", "message", "details"}, body
        assert err["details"], body
        for detail in err["details"]:
            assert set(detail) == {"field", "message"}, body
    else:
        assert set(err) == {"code", "message"}, body


def fields(response: httpx.Response) -> set[str]:
    """The fields a VALIDATION_ERROR names."""
    error(response, 422, "VALIDATION_ERROR")
    return {d["field"] for d in response.json()["error"]["details"]}


def user(value: dict[str, Any]) -> None:
    assert set(value) == USER_KEYS, value


def vault(value: dict[str, Any]) -> None:
    assert set(value) == VAULT_KEYS, value
    assert value["role"] in ("owner", "contributor", "viewer")
    assert isinstance(value["seq"], int)
    assert is_time(value["createdAt"]) and is_time(value["updatedAt"]), value


def member(value: dict[str, Any]) -> None:
    assert set(value) == MEMBER_KEYS, value
    assert value["role"] in ("owner", "contributor", "viewer")
    assert is_time(value["joinedAt"]), value


def source(value: dict[str, Any]) -> None:
    assert set(value) == SOURCE_KEYS, value
    assert set(value["createdBy"]) == {"userId", "userName"}, value
    assert isinstance(value["tags"], list)
    assert isinstance(value["version"], int) and value["version"] >= 1
    assert is_time(value["createdAt"]) and is_time(value["updatedAt"]), value


def event(value: dict[str, Any]) -> None:
    payload = set(value) - EVENT_KEYS
    assert set(value) >= EVENT_KEYS and len(payload) == 1, value
    key = payload.pop()
    assert value["type"].split(":")[0] == key, value
    assert set(value["actor"]) == {"userId", "userName", "role"}, value
    assert is_time(value["at"]), value
    {"source": source, "vault": vault, "member": member}[key](value[key])
