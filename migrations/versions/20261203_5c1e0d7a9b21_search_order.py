"""the search index holds each source's vault, creation time and tags

Revision ID: 5c1e0d7a9b21
Revises: 99f0e167527e
Create Date: 2026-12-03 14:00:00.000000

A search ranks its matches by score, then newest first, among those with every ``tag`` asked
for: with the vault, the creation time and the tags beside the index row, the ranking reads the
index alone and joins the sources of the page only, instead of reading every matching
source's row.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "5c1e0d7a9b21"
down_revision: str | None = "99f0e167527e"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# SQLite adds a NOT NULL column only with a default; every row is filled before it is read.
SQLITE = [
    "ALTER TABLE source_search ADD COLUMN vault_id VARCHAR(32) NOT NULL DEFAULT ''",
    "ALTER TABLE source_search ADD COLUMN created_at DATETIME NOT NULL DEFAULT ''",
    "ALTER TABLE source_search ADD COLUMN tags JSON NOT NULL DEFAULT '[]'",
    """UPDATE source_search SET (vault_id, created_at, tags) = (
        SELECT sources.vault_id, sources.created_at, sources.tags FROM sources
        WHERE sources.id = source_search.source_id
    )""",
]
POSTGRES = [
    "ALTER TABLE source_search ADD COLUMN vault_id VARCHAR(32)",
    "ALTER TABLE source_search ADD COLUMN created_at TIMESTAMP WITH TIME ZONE",
    "ALTER TABLE source_search ADD COLUMN tags JSONB",
    """UPDATE source_search SET vault_id = sources.vault_id, created_at = sources.created_at,
        tags = CAST(sources.tags AS JSONB)
        FROM sources WHERE sources.id = source_search.source_id""",
    "ALTER TABLE source_search ALTER COLUMN vault_id SET NOT NULL",
    "ALTER TABLE source_search ALTER COLUMN created_at SET NOT NULL",
    "ALTER TABLE source_search ALTER COLUMN tags SET NOT NULL",
]


def upgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    for statement in POSTGRES if postgres else SQLITE:
        op.execute(statement)


def downgrade() -> None:
    op.execute("ALTER TABLE source_search DROP COLUMN tags")
    op.execute("ALTER TABLE source_search DROP COLUMN created_at")
    op.execute("ALTER TABLE source_search DROP COLUMN vault_id")
