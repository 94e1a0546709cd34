"""``SOURCEVAULT_TRANSPORT`` and ``SOURCEVAULT_SQLITE_ADAPTER`` choose what serves the sockets
and the SQLite statements: the transport package's delivery and adapter (``fast``, the
default), or python-socketio, python-engineio, uvicorn and SQLAlchemy as they ship
(``stock``). ``make test`` runs the realtime and ordering suites in both."""

from __future__ import annotations

import engineio
import pytest
import uvicorn
from engineio.async_drivers import asgi as engineio_asgi

from sourcevault.app import create_app
from sourcevault.config import Settings
from sourcevault.realtime import transport
from sourcevault.realtime.transport.fastpath import FastEmit, FastWebSocket
from sourcevault.realtime.transport.sqlite import OneTripDBAPI
from tests.conftest import make_settings


@pytest.fixture
def backend() -> str:
    return "sqlite"


def test_the_defaults_are_the_fast_transport_and_adapter(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SOURCEVAULT_TRANSPORT", raising=False)  # set by make test's stock run
    monkeypatch.delenv("SOURCEVAULT_SQLITE_ADAPTER", raising=False)
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    assert (settings.transport, settings.sqlite_adapter) == ("fast", "fast")


async def test_stock_runs_the_libraries_as_they_ship(database_url: str) -> None:
    settings = make_settings(database_url, transport="stock", sqlite_adapter="stock")
    app = create_app(settings)
    try:
        sio = app.state.realtime.sio
        assert not isinstance(sio.manager, FastEmit)
        assert type(sio.eio) is engineio.AsyncServer
        assert sio.eio._async["websocket"] is engineio_asgi.WebSocket
        assert sio.eio._async["translate_request"] is engineio_asgi.translate_request
        assert transport.uvicorn_options(settings)["ws"] == "websockets-sansio"
        assert transport.server_class(settings) is uvicorn.Server
        ctx = app.state.ctx
        assert not isinstance(ctx.engine.dialect.dbapi, OneTripDBAPI)
        assert ctx.lookups.direct is None
    finally:
        await app.state.ctx.aclose()


async def test_fast_runs_the_transport_package(database_url: str) -> None:
    settings = make_settings(database_url, transport="fast", sqlite_adapter="fast")
    app = create_app(settings)
    try:
        sio = app.state.realtime.sio
        assert isinstance(sio.manager, FastEmit)
        assert sio.eio._async["websocket"] is FastWebSocket
        assert transport.uvicorn_options(settings)["ws"] == transport.WS_PROTOCOL
        assert transport.server_class(settings) is not uvicorn.Server
        ctx = app.state.ctx
        assert isinstance(ctx.engine.dialect.dbapi, OneTripDBAPI)
        assert ctx.lookups.direct is not None
    finally:
        await app.state.ctx.aclose()


def test_an_unknown_mode_is_refused() -> None:
    with pytest.raises(ValueError, match="transport"):
        Settings(transport="turbo", _env_file=None)  # type: ignore[call-arg, arg-type]
