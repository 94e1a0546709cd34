"""The event payload types say exactly what goes on the wire: the keys of the schemas the
services serialize, by alias, and every event type's payload key as CONTRACT.md (and issue
17's `sources:imported`) names it."""

from __future__ import annotations

from typing import get_type_hints

import pytest
from pydantic import BaseModel

from sourcevault import events
from sourcevault.events import EventType
from sourcevault.sources.schemas import Creator, SourceOut
from sourcevault.vaults.schemas import MemberOut, VaultOut


def wire_keys(model: type[BaseModel]) -> set[str]:
    return {field.alias or name for name, field in model.model_fields.items()}


@pytest.mark.parametrize(
    ("payload", "model"),
    [
        (events.SourcePayload, SourceOut),
        (events.Creator, Creator),
        (events.VaultPayload, VaultOut),
        (events.MemberPayload, MemberOut),
    ],
)
def test_each_payload_type_has_the_keys_its_schema_sends(
    payload: type, model: type[BaseModel]
) -> None:
    assert set(get_type_hints(payload)) == wire_keys(model)


def test_the_event_types_are_the_contracts_and_name_their_payload() -> None:
    assert {(t.value, t.key) for t in EventType} == {
        ("source:created", "source"),
        ("source:updated", "source"),
        ("source:deleted", "source"),
        ("vault:updated", "vault"),
        ("vault:deleted", "vault"),
        ("member:added", "member"),
        ("member:updated", "member"),
        ("member:removed", "member"),
        ("sources:imported", "import"),  # issue 17's addition: one event for a whole import
    }
    kinds = {
        events.SourceEvent: "source",
        events.VaultEvent: "vault",
        events.MemberEvent: "member",
        events.ImportEvent: "import",
    }
    for kind, key in kinds.items():
        assert set(get_type_hints(kind)) == {"seq", "type", "vaultId", "actor", "at", key}
