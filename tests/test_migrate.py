"""The migration check ``serve`` makes before it serves, without Alembic, agrees with Alembic."""

from __future__ import annotations

import asyncio
import subprocess
from pathlib import Path

from alembic.script import ScriptDirectory

from sourcevault.db.migrate import alembic_config, current_revision, head_revision, upgrade
from tests.client.procs import server_env
from tests.multi.cluster import SOURCEVAULT, free_port


def test_the_head_read_from_the_migration_files_is_alembics() -> None:
    alembic_head = ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()
    assert alembic_head is not None
    assert head_revision() == alembic_head


def test_a_database_is_at_the_head_only_once_upgraded(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'fresh.db'}"
    assert asyncio.run(current_revision(url)) is None
    upgrade(url)
    assert asyncio.run(current_revision(url)) == head_revision()


def test_serve_refuses_a_database_that_is_not_migrated_and_names_the_fix(
    tmp_path: Path,
) -> None:
    done = subprocess.run(
        [str(SOURCEVAULT), "serve", "--port", str(free_port())],
        env=server_env(f"sqlite+aiosqlite:///{tmp_path / 'empty.db'}"),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 1
    assert "Run: sourcevault db upgrade" in done.stderr
