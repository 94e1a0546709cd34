"""Migrations from code: ``sourcevault db upgrade`` and the check ``serve`` makes first.

The check does not import Alembic (a third of a second, in a server's start that clients wait
out): the head is read from the migration files' ``revision`` and ``down_revision`` lines, and
the database's revision from Alembic's ``alembic_version`` table. tests/test_migrate.py checks
that this head is the one Alembic finds."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from sourcevault.db.engine import build_engine

if TYPE_CHECKING:
    from alembic.config import Config

# A built wheel carries a copy of the migrations beside this module (setup.py puts it there); a
# checkout runs them from the repository's migrations/ folder.
_PACKAGED = Path(__file__).resolve().parent / "migrations"
MIGRATIONS = _PACKAGED if _PACKAGED.is_dir() else Path(__file__).resolve().parents[3] / "migrations"
_REVISION = re.compile(r"^(down_revision|revision)\b[^=]*=\s*(.+?)\s*$", re.MULTILINE)


def alembic_config(database_url: str) -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("file_template", "%%(year)d%%(month).2d%%(day).2d_%%(rev)s_%%(slug)s")
    config.attributes["database_url"] = database_url
    return config


def upgrade(database_url: str, revision: str = "head") -> None:
    """Apply the migrations (Alembic runs its own event loop, so call this outside one)."""
    from alembic import command

    command.upgrade(alembic_config(database_url), revision)


def head_revision() -> str | None:
    """The revision no other migration revises (None with no migrations; more than one head
    is an error, as in Alembic)."""
    revisions: set[str] = set()
    revised: set[str] = set()
    for path in (MIGRATIONS / "versions").glob("*.py"):
        found = dict(_REVISION.findall(path.read_text(encoding="utf-8")))
        revisions.add(found["revision"].strip("\"'"))
        down = found.get("down_revision", "None")
        revised.update(re.findall(r"[\"']([^\"']+)[\"']", down))
    heads = revisions - revised
    if len(heads) > 1:
        raise RuntimeError(f"the migrations have several heads: {sorted(heads)}")
    return next(iter(heads), None)


async def current_revision(database_url: str) -> str | None:
    """The revision the database is at (None when it was never migrated)."""
    engine = build_engine(database_url)
    try:
        async with engine.connect() as connection:
            try:
                result = await connection.execute(text("SELECT version_num FROM alembic_version"))
            except DBAPIError:  # no such table: never migrated
                return None
            return result.scalar()
    finally:
        await engine.dispose()


def is_migrated(database_url: str) -> bool:
    return asyncio.run(current_revision(database_url)) == head_revision()
