"""Cases of the Socket.IO v5 specification the suite leaves out, on the same server: a
connection refused by the namespace's handler (CONNECT_ERROR), multiplexing namespaces on one
connection, and events, acks and binary attachments over HTTP long-polling."""

from __future__ import annotations

from tests.conformance.app import PRIVATE_TOKEN
from tests.conformance.wire import SEPARATOR, Polling, socketio


async def test_connect_error_when_the_namespace_refuses_the_auth(base: str) -> None:
    async with socketio(base) as ws:
        await ws.send('40/private,{"token":"wrong"}')
        assert await ws.recv() == '44/private,{"message":"Not authorized"}'
        # The refusal is the namespace's: the connection and the main namespace stay.
        await ws.send('42["message","still here"]')
        assert await ws.recv() == '42["message-back","still here"]'


async def test_connect_with_the_auth_the_namespace_asks_for(base: str) -> None:
    async with socketio(base) as ws:
        await ws.send(f'40/private,{{"token":"{PRIVATE_TOKEN}"}}')
        assert str(await ws.recv()).startswith('40/private,{"sid":')
        assert await ws.recv() == f'42/private,["auth",{{"token":"{PRIVATE_TOKEN}"}}]'


async def test_multiplexing_namespaces_on_one_connection(base: str) -> None:
    async with socketio(base) as ws:
        await ws.socketio_connect("/custom")
        # /custom has no "message" handler: nothing comes back from it, and the main
        # namespace answers its own.
        await ws.send('42/custom,["message","to custom"]')
        await ws.send('42["message","to main"]')
        assert await ws.recv() == '42["message-back","to main"]'


async def test_an_event_to_a_namespace_not_connected_is_ignored(base: str) -> None:
    async with socketio(base) as ws:
        await ws.send('42/private,["message","not connected"]')
        await ws.send('42["message","connected"]')
        assert await ws.recv() == '42["message-back","connected"]'


async def test_polling_connect_with_a_payload_then_an_event_with_an_ack(polling: Polling) -> None:
    assert (await polling.post('40{"token":"p"}')).status_code == 200
    connected, auth = await polling.packets(2)
    assert connected.startswith('40{"sid":')
    assert auth == '42["auth",{"token":"p"}]'
    assert (await polling.post('427["message-with-ack","x",2]')).status_code == 200
    assert await polling.packets(1) == ['437["x",2]']


async def test_polling_binary_event_with_an_ack(polling: Polling) -> None:
    assert (await polling.post("40")).status_code == 200
    await polling.packets(2)  # CONNECT and the auth event
    pushed = await polling.post(
        '451-8["message-with-ack",{"_placeholder":true,"num":0}]' + SEPARATOR + "bAQID"
    )
    assert pushed.status_code == 200
    assert await polling.packets(2) == ['461-8[{"_placeholder":true,"num":0}]', "bAQID"]
