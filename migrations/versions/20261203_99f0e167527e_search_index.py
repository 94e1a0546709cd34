"""the search index

Revision ID: 99f0e167527e
Revises: 83bbd69a2c7f
Create Date: 2026-12-03 10:46:00.000000
"""

import json
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "99f0e167527e"
down_revision: str | None = "83bbd69a2c7f"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The index's words, as the code of this revision finds them (sourcevault.search.text).
SQLITE = [
    """CREATE TABLE source_search (
        id INTEGER NOT NULL PRIMARY KEY,
        source_id VARCHAR(32) NOT NULL
            CONSTRAINT uq_source_search_source_id UNIQUE
            CONSTRAINT fk_source_search_source_id_sources
            REFERENCES sources (id) ON DELETE CASCADE
    )""",
    """CREATE VIRTUAL TABLE source_search_fts USING fts5(
        title, tags, url, annotation, tokenize = 'ascii', prefix = '2 3'
    )""",
    """CREATE TRIGGER source_search_deleted AFTER DELETE ON source_search BEGIN
        DELETE FROM source_search_fts WHERE rowid = old.id;
    END""",
]
POSTGRES = [
    """CREATE TABLE source_search (
        source_id VARCHAR(32) NOT NULL
            CONSTRAINT pk_source_search PRIMARY KEY
            CONSTRAINT fk_source_search_source_id_sources
            REFERENCES sources (id) ON DELETE CASCADE,
        document TSVECTOR NOT NULL
    )""",
    "CREATE INDEX ix_source_search_document ON source_search USING GIN (document)",
]


def upgrade() -> None:
    bind = op.get_bind()
    postgres = bind.dialect.name == "postgresql"
    for statement in POSTGRES if postgres else SQLITE:
        op.execute(statement)
    _index_existing_sources(bind, postgres)


def _index_existing_sources(bind: sa.Connection, postgres: bool) -> None:
    from sourcevault.search.text import fts_columns, tsvector

    rows = bind.execute(sa.text("SELECT id, title, tags, url, annotation FROM sources")).all()
    for source_id, title, tags, url, annotation in rows:
        tag_list = json.loads(tags) if isinstance(tags, str) else tags
        fields = (title, list(tag_list or []), url, annotation)
        if postgres:
            bind.execute(
                sa.text(
                    "INSERT INTO source_search (source_id, document) VALUES (:id, CAST(:doc AS tsvector))"
                ),
                {"id": source_id, "doc": tsvector(*fields)},
            )
            continue
        row_id = bind.execute(
            sa.text("INSERT INTO source_search (source_id) VALUES (:id) RETURNING id"),
            {"id": source_id},
        ).scalar_one()
        bind.execute(
            sa.text(
                "INSERT INTO source_search_fts (rowid, title, tags, url, annotation)"
                " VALUES (:rowid, :title, :tags, :url, :annotation)"
            ),
            {"rowid": row_id, **fts_columns(*fields)},
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TABLE source_search")
    else:
        op.execute("DROP TRIGGER source_search_deleted")
        op.execute("DROP TABLE source_search_fts")
        op.execute("DROP TABLE source_search")
