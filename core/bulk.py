"""Updating many rows at once, each with its own values.

Django's `bulk_update` writes `SET col = CASE WHEN id = 1 THEN … WHEN id = 2 THEN … END`, which
the database evaluates row by row through every branch: a 1,000-row batch costs a million
comparisons per column. On PostgreSQL this writes `UPDATE … FROM (VALUES …)` instead, a join
that costs one lookup per row.
"""

from django.db import connections


def update_rows(model, objects, fields, *, using="default"):
    """Write `fields` of each of `objects` (loaded rows, with their pk) to the database."""
    objects = list(objects)
    if not objects:
        return 0
    connection = connections[using]
    if connection.vendor != "postgresql":
        return model._base_manager.using(using).bulk_update(objects, fields, batch_size=200)
    meta = model._meta
    columns = [meta.get_field(name) for name in fields]
    pk = meta.pk
    placeholders = ", ".join(f"%s::{field.db_type(connection)}" for field in [pk, *columns])
    values_sql = ", ".join(f"({placeholders})" for _ in objects)
    params = []
    for obj in objects:
        params.append(pk.get_db_prep_value(obj.pk, connection))
        for field in columns:
            params.append(field.get_db_prep_save(getattr(obj, field.attname), connection))
    quote = connection.ops.quote_name
    names = ", ".join(quote(f.column) for f in [pk, *columns])
    assignments = ", ".join(f"{quote(f.column)} = v.{quote(f.column)}" for f in columns)
    # Only names from the model's own metadata, quoted, go into the text; values are parameters.
    table, key = quote(meta.db_table), quote(pk.column)
    sql = f"UPDATE {table} AS t SET {assignments} FROM (VALUES {values_sql}) AS v({names}) "  # noqa: S608
    sql += f"WHERE t.{key} = v.{key}"
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.rowcount
