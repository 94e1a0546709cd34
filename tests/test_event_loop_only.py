"""No REST request waits for FastAPI's thread pool. FastAPI runs an endpoint or a dependency
written as a plain ``def`` on a worker thread: a hand-off to that thread and back on every
request, which on the one core the server has took some of every source creation's time."""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute

from sourcevault.app import create_app
from sourcevault.config import Settings


@pytest.fixture
def backend() -> str:
    return "sqlite"


def _api_routes(routes: list[Any]) -> Iterator[APIRoute]:
    for route in routes:
        if isinstance(route, APIRoute):
            yield route
        included = getattr(route, "original_router", None)  # an included router's routes
        if included is not None:
            yield from _api_routes(included.routes)


def _calls(dependant: Dependant) -> Iterator[Callable[..., Any]]:
    if dependant.call is not None:
        yield dependant.call
    for sub in dependant.dependencies:
        yield from _calls(sub)


def _on_the_loop(call: Callable[..., Any]) -> bool:
    """As FastAPI decides it: an instance is called through its ``__call__``; a class is
    instantiated, by its plain ``__init__``, on a worker thread."""
    target = call if inspect.isroutine(call) or inspect.isclass(call) else type(call).__call__
    return inspect.iscoroutinefunction(target) or inspect.isasyncgenfunction(target)


def test_every_endpoint_and_dependency_runs_on_the_event_loop(settings: Settings) -> None:
    app = create_app(settings)
    routes = list(_api_routes(app.routes))
    assert any(route.path == "/api/vaults/{vault_id}/sources" for route in routes)
    on_a_thread = sorted(
        f"{route.path}: {getattr(call, '__qualname__', type(call).__qualname__)}"
        for route in routes
        for call in _calls(route.dependant)
        if not _on_the_loop(call)
    )
    assert on_a_thread == []
