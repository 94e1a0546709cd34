"""A source in a vault the caller is not in and a source that does not exist are answered the
same, after the same work: one statement that joins the caller's membership, so that neither
the body nor the time it takes tells the two apart."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
from sqlalchemy import event

from tests import checks, factories
from tests.factories import Team
from tests.live import LiveServer


@contextmanager
def statements(server: LiveServer) -> Iterator[list[str]]:
    """The SQL the server's engine runs meanwhile, as written (parameters apart)."""
    ran: list[str] = []

    def record(*args: Any) -> None:
        ran.append(args[2])

    engine = server.ctx.engine.sync_engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        yield ran
    finally:
        event.remove(engine, "before_cursor_execute", record)


async def test_elsewhere_and_nowhere_look_and_work_alike(
    server: LiveServer, client: httpx.AsyncClient, team: Team
) -> None:
    elsewhere = await factories.source(team.owner, team.vault_id, title="Not yours")
    outsider = team.outsider.http
    for method, body in (("GET", None), ("PATCH", {"title": "Mine now"}), ("DELETE", None)):
        answers, work = [], []
        for source_id in (elsewhere["id"], "no-such-source"):
            with statements(server) as ran:
                answers.append(
                    await outsider.request(method, f"/api/sources/{source_id}", json=body)
                )
            # The token lookup and SQLite's BEGIN apart.
            work.append([sql for sql in ran if "sessions" not in sql and sql != "BEGIN"])
        for answer in answers:
            checks.error(answer, 404, "NOT_FOUND", "Source not found")
        assert answers[0].json() == answers[1].json()
        assert work[0] == work[1], work
        assert len(work[0]) == 1, work[0]
    kept = await team.owner.http.get(f"/api/sources/{elsewhere['id']}")
    assert kept.json()["source"]["title"] == "Not yours"
