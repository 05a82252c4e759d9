"""Getting the generated rows into the database fast, each value in its own column.

A row is a dict keyed by its model's column names (`Field.column`: `buyer_id`, not `buyer`)
whose values are ints, bools, None or the database's text (`values.DatabaseText`). The writer
buffers rows per table and, every `batch` rows, writes every table's rows in LOADED's order
(parents first) inside the caller's transaction: on PostgreSQL a thread streams each batch with
`COPY ... FROM STDIN` while the next one is generated (the server's work overlaps ours); on
SQLite `executemany`. `add` puts a row's values in its table's column order; a row that lacks
one of its model's columns, or names one the model does not have, stops the load there with
`ColumnMismatch` (the transaction then writes nothing).

When we own the loaded tables, their foreign keys and non-unique indexes are dropped for the load
and re-added after it in one pass each, as pg_restore does.
"""

import queue
import threading
from operator import itemgetter

from django.db import connection
from django.db.models import Max

from buyers.models import Access, AccessActivation, Buyer, WalletBalance, WalletEntry

from ..models import (
    Cancellation,
    ContractTransaction,
    Purchase,
    PurchaseSession,
    RecurringContract,
    Refund,
    SandboxCharge,
)

# The tables written row by row, parents before the rows that refer to them.
LOADED = (
    SandboxCharge,
    Buyer,
    Access,
    AccessActivation,
    PurchaseSession,
    Purchase,
    RecurringContract,
    ContractTransaction,
    Refund,
    Cancellation,
    WalletEntry,
    WalletBalance,
)


class ColumnMismatch(RuntimeError):
    """Generated rows and their model's columns disagree (a column added to a model, or a
    misspelt key): nothing of the batch is written."""


def columns_of(model) -> list[str]:
    return [field.column for field in model._meta.concrete_fields]


class RowWriter:
    """Buffers rows per table and writes them all, in LOADED's order, once `batch` rows are
    waiting. Until `close()` (or `abandon()`) only the writer uses the database connection."""

    def __init__(self, tables=LOADED, batch=50_000):
        self.tables = tables
        self.batch = batch
        self.columns = {model: columns_of(model) for model in tables}
        # Per table: its rows' values in column order, and how many columns a row has.
        self.shape = {
            model: (itemgetter(*columns), len(columns)) for model, columns in self.columns.items()
        }
        self.rows = {model: [] for model in tables}
        self.written = dict.fromkeys(tables, 0)
        self.postgres = connection.vendor == "postgresql"
        self.batches = queue.Queue(maxsize=2)
        self.failure = None
        self.thread = None
        if self.postgres:
            connection.ensure_connection()
            # Only this thread uses the connection until close(): the caller writes nothing
            # else meanwhile.
            self.thread = threading.Thread(
                target=self._copy_batches, args=(connection.connection,), daemon=True
            )
            self.thread.start()

    def add(self, model, row: dict):
        """Buffers `row`, which must give every column of `model` and no other; its values are
        put in the table's column order now, while the row is fresh in the CPU's cache."""
        in_order, width = self.shape[model]
        try:
            values = in_order(row)
        except KeyError as missing:
            raise ColumnMismatch(
                f"The generator gives no value for {model.__name__}'s column {missing}: "
                "give one where its rows are built."
            ) from None
        if len(row) != width:
            extra = ", ".join(sorted(set(row) - set(self.columns[model])))
            raise ColumnMismatch(
                f"The generator gives {model.__name__} columns it does not have: {extra}."
            )
        self.rows[model].append(values)

    def flush_if_full(self):
        """Called between buyers: a batch then holds every row its rows refer to."""
        if sum(map(len, self.rows.values())) >= self.batch:
            self.flush()

    def flush(self):
        batch = [(model, rows) for model, rows in self.rows.items() if rows]
        for model, rows in batch:
            self.written[model] += len(rows)
        self.rows = {model: [] for model in self.tables}
        if self.thread is None:
            self._insert(batch)
            return
        self._raise_failure()
        self.batches.put(batch)

    def close(self):
        """Write what is buffered and wait for the writer; raises what it met."""
        if self.thread is not None:
            self.batches.put(None)
            self.thread.join()
            self.thread = None
            self._raise_failure()

    def abandon(self):
        if self.thread is not None:
            self.failure = self.failure or RuntimeError("abandoned")
            self.batches.put(None)
            self.thread.join()
            self.thread = None

    def _raise_failure(self):
        if self.failure is not None:
            raise self.failure

    def _copy_batches(self, pg_connection):
        while (batch := self.batches.get()) is not None:
            if self.failure is not None:
                continue  # drain: the transaction is lost anyway
            try:
                with pg_connection.cursor() as cursor:
                    for model, rows in batch:
                        columns = ", ".join(self.columns[model])
                        sql = f"COPY {model._meta.db_table} ({columns}) FROM STDIN"
                        with cursor.copy(sql) as copy:
                            copy.write(copy_text(rows))
            except Exception as failure:  # noqa: BLE001 - handed to the generating thread
                self.failure = failure

    def _insert(self, batch):
        with connection.cursor() as cursor:
            for model, rows in batch:
                columns = self.columns[model]
                marks = ", ".join(["%s"] * len(columns))
                # Table and column names come from the models, never from input.
                insert = (
                    f"INSERT INTO {model._meta.db_table} ({', '.join(columns)}) VALUES ({marks})"  # noqa: S608
                )
                cursor.executemany(insert, rows)


def copy_text(rows):
    """Rows in COPY's text format, built in one pass (psycopg's write_row, value by value, costs
    more than generating them). Generated text never holds a tab, newline or backslash."""
    return (
        "\n".join(
            [
                "\t".join(
                    [
                        v
                        if v.__class__ is str
                        else "\\N"
                        if v is None
                        else ("t" if v else "f")
                        if v.__class__ is bool
                        else str(v)
                        for v in row
                    ]
                )
                for row in rows
            ]
        )
        + "\n"
    )


def first_free_id(model) -> int:
    """The id after the table's largest: rows get explicit ids, so one seed gives one set of ids."""
    return (model._default_manager.aggregate(top=Max("pk"))["top"] or 0) + 1


def reset_sequences(models):
    """Identity sequences after the explicit ids, so the next row the product creates is new."""
    with connection.cursor() as cursor:
        for model in models:
            table = model._meta.db_table
            cursor.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "  # noqa: S608
                f"coalesce((SELECT max(id) FROM {table}), 1))"
            )


def analyze(models):
    """Planner statistics for the loaded tables, grown by far more than autovacuum waits for."""
    with connection.cursor() as cursor:
        for model in models:
            cursor.execute(f"ANALYZE {model._meta.db_table}")


# --- Keys and indexes dropped for the load (PostgreSQL) ----------------------------------------


def loaded_tables_we_own(cursor) -> list[str]:
    """The loaded tables' names when this database user owns them all (and so may drop their
    keys and indexes for the load), else none."""
    tables = [model._meta.db_table for model in LOADED]
    cursor.execute(
        "SELECT bool_and(pg_has_role(relowner, 'USAGE')) FROM pg_class "
        "WHERE relname = ANY(%s) AND relkind = 'r'",
        [tables],
    )
    return tables if cursor.fetchone()[0] else []


def drop_foreign_keys():
    """The loaded tables' foreign keys, dropped for the load when we own the tables (as
    pg_restore does): checked row by row they cost more than the rest of the load; re-adding
    them checks every row at once, in the same transaction. Answers what to re-add."""
    with connection.cursor() as cursor:
        tables = loaded_tables_we_own(cursor)
        if not tables:
            return []
        cursor.execute(
            "SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid) "
            "FROM pg_constraint WHERE contype = 'f' AND conrelid::regclass::text = ANY(%s) "
            "ORDER BY 1, 2",
            [tables],
        )
        dropped = cursor.fetchall()
        for table, name, _ in dropped:
            cursor.execute(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')
    return dropped


def drop_secondary_indexes():
    """The loaded tables' non-unique indexes, dropped for the load when we own the tables (as
    pg_restore builds indexes after the data): building one from the loaded rows is several
    times faster than keeping it up to date row by row, above all the trigram (GIN) indexes.
    Unique indexes stay, so the load is still checked. Answers the definitions to re-create."""
    with connection.cursor() as cursor:
        tables = loaded_tables_we_own(cursor)
        if not tables:
            return []
        cursor.execute(
            "SELECT i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid) FROM pg_index i "
            "WHERE i.indrelid::regclass::text = ANY(%s) AND NOT i.indisunique "
            "AND NOT i.indisprimary ORDER BY 1",
            [tables],
        )
        dropped = cursor.fetchall()
        for name, _ in dropped:
            cursor.execute(f"DROP INDEX {name}")
    return dropped


def restore_indexes(dropped):
    if not dropped:
        return
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL maintenance_work_mem = '256MB'")
        for _, definition in dropped:
            cursor.execute(definition)


def restore_foreign_keys(dropped):
    if not dropped:
        return
    with connection.cursor() as cursor:
        for table, name, definition in dropped:
            cursor.execute(f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition}')
