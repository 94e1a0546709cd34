"""one index per field of a source's words, on PostgreSQL

Revision ID: 3f6b2d8e1c47
Revises: 5c1e0d7a9b21
Create Date: 2026-12-03 17:00:00.000000

A search reads one score at a time, best first, and a score is a set of fields that hold a term
of the query. The document's GIN index holds every field's words under one lexeme, so a field
asked of it had each candidate row read and checked for the lexeme's weight: a common word's
every match, for each score. An index per field, over that field's part of the document
(``ts_filter`` by its weight letter), answers it from the index. SQLite's FTS5 table already
sets its columns apart.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "3f6b2d8e1c47"
down_revision: str | None = "5c1e0d7a9b21"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# title A, tags B, url C, annotation D (sourcevault.search.text.FIELDS)
LETTERS = ("a", "b", "c", "d")


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for letter in LETTERS:
        op.execute(
            f"CREATE INDEX ix_source_search_document_{letter} ON source_search"
            f" USING GIN (ts_filter(document, '{{{letter}}}'))"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for letter in LETTERS:
        op.execute(f"DROP INDEX ix_source_search_document_{letter}")
