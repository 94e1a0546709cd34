"""The import's own limits are settings: a server configured lower refuses more."""

from __future__ import annotations

import pytest

from sourcevault.config import Settings
from tests import checks
from tests.conftest import make_settings
from tests.factories import Team
from tests.transfer.helpers import all_sources, post_import


@pytest.fixture
def settings(database_url: str) -> Settings:
    return make_settings(database_url, import_max_entries=3, import_max_bytes=4096)


async def test_a_file_over_the_entry_limit_is_refused_whole(team: Team) -> None:
    rows = "title\n" + "".join(f"Entry {n}\n" for n in range(4))
    response = await post_import(team.owner, team.vault_id, "csv", rows)
    checks.error(response, 422, "VALIDATION_ERROR")
    assert "at most 3" in response.json()["error"]["message"]
    assert await all_sources(team.owner, team.vault_id) == []
    response = await post_import(team.owner, team.vault_id, "csv", "title\nA\nB\nC\n")
    assert response.status_code == 201


async def test_a_file_over_the_configured_size_is_refused(team: Team) -> None:
    response = await post_import(team.owner, team.vault_id, "csv", "title\n" + "x" * 4096)
    checks.error(response, 413, "PAYLOAD_TOO_LARGE")
    assert await all_sources(team.owner, team.vault_id) == []


async def test_a_viewers_file_is_refused_before_it_is_read(team: Team) -> None:
    # Larger than the limit: had it been read, the answer would be 413.
    response = await post_import(team.viewer, team.vault_id, "csv", "title\n" + "x" * 8192)
    checks.error(response, 403, "INSUFFICIENT_PERMISSIONS")
