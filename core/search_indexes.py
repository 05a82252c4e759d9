"""Trigram indexes: what makes "contains" search (`icontains`, the list pages' search box) read
an index on PostgreSQL instead of every row.

Django's `icontains` compares `UPPER(column::text) LIKE UPPER('%term%')`, so the index is a
pg_trgm GIN index on `UPPER(column::text)`. SQLite has no such index, so these live in the
migrations only, created on PostgreSQL (not in the models' Meta.indexes, which Django would
also build on SQLite).
"""

from django.db import migrations


class AddTrigramIndex(migrations.RunSQL):
    """CREATE INDEX <name> ON <table> USING gin (UPPER(<column>::text) gin_trgm_ops), on
    PostgreSQL only; reversed by dropping it. Needs the pg_trgm extension (TrigramExtension)."""

    def __init__(self, *, table: str, column: str, name: str):
        self.table, self.column, self.name = table, column, name
        super().__init__(
            sql=f'CREATE INDEX IF NOT EXISTS "{name}" ON "{table}" '
            f'USING gin (UPPER("{column}"::text) gin_trgm_ops)',
            reverse_sql=f'DROP INDEX IF EXISTS "{name}"',
        )

    def deconstruct(self):
        return (
            self.__class__.__qualname__,
            [],
            {"table": self.table, "column": self.column, "name": self.name},
        )

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == "postgresql":
            super().database_forwards(app_label, schema_editor, from_state, to_state)

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == "postgresql":
            super().database_backwards(app_label, schema_editor, from_state, to_state)

    def describe(self):
        return f"Trigram index {self.name} on {self.table}.{self.column} (PostgreSQL)"
