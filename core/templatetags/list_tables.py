"""`{% table_rows table %}`: a list table's rows rendered in Python (core.table_rows)."""

from django import template

from core.table_rows import render_rows

register = template.Library()


@register.simple_tag(takes_context=True)
def table_rows(context, table):
    return render_rows(table, context)
