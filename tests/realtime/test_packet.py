"""The fast transport's Socket.IO packets say what python-socketio's own say: the same JSON
values, and the same answer to whether a payload carries binary attachments."""

from __future__ import annotations

import json
from typing import Any

import pytest
from socketio import packet

from sourcevault.realtime.transport.engine import FastPacket

PAYLOADS: list[Any] = [
    None,
    "text",
    ["source:created", {"seq": 3, "title": "Zéolithes 📚", "tags": ["a", "b"], "n": 1.5}],
    [{"ok": True, "presence": [{"userId": f"u{i}", "userName": "Ana"} for i in range(140)]}],
    ["big", {"n": 2**70}],  # past 64 bits: orjson refuses, the standard library writes it
    ["keys", {1: "not a string key"}],
    ["nested", {"a": [{"b": [b"attachment"]}]}],
    ["bytearray", bytearray(b"x")],
]


@pytest.mark.parametrize("data", PAYLOADS)
def test_a_payload_is_binary_exactly_when_python_socketio_says_so(data: Any) -> None:
    assert FastPacket.data_is_binary(data) == packet.Packet.data_is_binary(data)


@pytest.mark.parametrize("data", [p for p in PAYLOADS if not packet.Packet.data_is_binary(p)])
def test_an_encoded_event_decodes_to_the_same_values(data: Any) -> None:
    ours = FastPacket(packet.EVENT, data=data, id=7).encode()
    stock = packet.Packet(packet.EVENT, data=data, id=7).encode()
    assert ours[:2] == stock[:2] == "27"
    assert json.loads(ours[2:] or "null") == json.loads(stock[2:] or "null")
    decoded = packet.Packet(encoded_packet=ours)
    assert (decoded.packet_type, decoded.id) == (packet.EVENT, 7)
