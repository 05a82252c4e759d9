"""A table's rows rendered in Python, with the markup django-tables2's template gives them.

django-tables2's template renders a list page's rows with a template call per cell: it computes
the column's `<td>` attributes for every cell, looks each value up through `Accessor`, inspects
the render method's signature, and renders `{{ cell }}` through the template engine. That was
~1.1 ms a row, 137 of the 177 ms of a 100-row purchases page (issue 18). Here each column is
compiled once per page into what its cells need (static `<td>` attributes, how to read the value,
which arguments its render method takes) and the rows are joined as strings.

What a cell shows is decided exactly as django-tables2 decides it (BoundRow.get_cell): the
choice's label for a field with choices, the column's default for an empty value, the table's
`render_<column>` or the column's `render`, the link around it; the value is then localised and
escaped as `{{ cell }}` does (render_value_in_context). Anything this module does not compile
(callable `<td>` attributes, row attributes, accessors with arguments) is computed per cell or
row the way django-tables2 does it. tests/site/test_table_rows.py renders every list page both
ways and compares the HTML.
"""

import re

from django.core.exceptions import FieldDoesNotExist
from django.db import models
from django.template.base import render_value_in_context
from django.templatetags.l10n import localize, unlocalize
from django.urls import NoReverseMatch, reverse
from django.utils.html import conditional_escape, format_html
from django.utils.safestring import mark_safe
from django_tables2 import Column
from django_tables2.columns.linkcolumn import BaseLinkColumn
from django_tables2.columns.manytomanycolumn import ManyToManyColumn
from django_tables2.utils import Accessor, AttributeDict, call_with_appropriate, signature

_FAILED = object()  # an accessor that could not be resolved (django-tables2 shows the default)
_GENERAL = object()  # a value this module leaves to django-tables2's BoundRow.get_cell


def _has_callable(attrs) -> bool:
    return any(
        callable(value) or (isinstance(value, dict) and _has_callable(value))
        for value in attrs.values()
    )


class _CompiledColumn:
    """What rendering one column's cells needs, worked out once a page."""

    def __init__(self, table, bound_column):
        column = bound_column.column
        self.table = table
        self.bound_column = bound_column
        self.column = column
        self.name = bound_column.name
        self.accessor = Accessor(bound_column.accessor)
        bits = self.accessor.bits
        self.path, self.last = bits[:-1], (bits[-1] if bits else None)
        # Accessors with call arguments, many-to-many columns and link columns with a text of
        # their own keep django-tables2's own code path.
        self.general = bool(
            self.accessor.callable_args
            or self.accessor.callable_kwargs
            or isinstance(column, (ManyToManyColumn, BaseLinkColumn))
        )
        self.empty_values = column.empty_values
        self.default = bound_column.default
        render = bound_column.render
        self.plain = getattr(render, "__func__", None) is Column.render
        self.render = render
        self.takes_any = signature(render)[1] is not None  # a **kwargs catch-all
        self.link = bound_column.link
        self.url = _LinkPattern.of(self.link) if self.link else None
        self.localize = column.localize
        self._choices = {}  # record class -> whether the accessed field has choices
        column_attrs = {**table.attrs, **column.attrs}
        td = column_attrs.get("td", column_attrs.get("cell", {}))
        if _has_callable(td):
            self.td = None  # depends on the record or the value: computed per cell
        else:
            self.td = bound_column.attrs["td"].as_html()

    def has_choices(self, record) -> bool:
        kind = type(record)
        known = self._choices.get(kind)
        if known is None:
            try:
                field = self.accessor.get_field(record)
            except FieldDoesNotExist:
                field = None
            known = self._choices[kind] = bool(getattr(field, "choices", None))
        return known

    def cell(self, row, context) -> str:
        """The `<td>` of this column in `row` (a django-tables2 BoundRow)."""
        if self.general or not isinstance(row.record, models.Model):
            content = row.get_cell(self.name)
        else:
            content = self._content(row)
        if self.td is None:
            bound_column = self.bound_column
            bound_column.current_value, bound_column.current_record = content, row.record
            td = bound_column.attrs["td"].as_html()
        else:
            td = self.td
        if self.localize is None:
            html = render_value_in_context(content, context)
        elif self.localize:
            html = conditional_escape(localize(content))
        else:
            html = conditional_escape(unlocalize(content))
        return f"<td {td}>{html}</td>"

    def _content(self, row):
        """BoundRow.get_cell, compiled: the value, its default when empty, rendered, linked."""
        record = row.record
        value = self._value(record)
        if value is _GENERAL:
            return row.get_cell(self.name)
        if value is _FAILED or value in self.empty_values:
            return self.default
        if self.plain and not self.link:
            return value
        kwargs = {
            "value": value,
            "record": record,
            "column": self.column,
            "bound_column": self.bound_column,
            "bound_row": row,
            "table": self.table,
        }
        if self.plain:
            content = value
        elif self.takes_any:
            content = self.render(**kwargs)
        else:
            content = call_with_appropriate(self.render, kwargs)
        if not self.link:
            return content
        url = self.url.url(record) if self.url is not None else None
        if url is None:
            return self.link(content, **kwargs)
        return format_html('<a {}href="{}">{}</a>', self.url.attrs, url, content)

    def _value(self, record):
        """The accessor's value on a model instance, as BoundRow._get_and_render_with reads it
        (a model field's choice label when it has choices); _FAILED when it cannot be read."""
        current = record
        for bit in self.path:
            current = _step(current, bit)
            if current is _FAILED or current is None:
                return None
            if not isinstance(current, models.Model):
                return _GENERAL  # a dict or list on the way: django-tables2's own lookup
        if self.last is None:
            return current
        if self.has_choices(record):
            display = getattr(current, f"get_{self.last}_display", None)
            if display is not None:
                return display()
        return _step(current, self.last)


class _LinkPattern:
    """A link's URL reversed once a page with stand-ins for its arguments, which each row's
    values then replace: `reverse()` for every linked cell was a sixth of a page. Only for links
    declared as (view name, arguments), and only for values of letters, digits, "-" and "_"
    (which reverse() writes as they are); any other value is reversed as usual."""

    SAFE = re.compile(r"[A-Za-z0-9_-]+")

    def __init__(self, pattern, accessors, attrs):
        self.pattern, self.accessors, self.attrs = pattern, accessors, attrs

    @classmethod
    def of(cls, link):
        reverse_args = link.reverse_args or {}
        viewname = reverse_args.get("viewname")
        if (
            link.url is not None
            or not isinstance(viewname, str)
            or set(reverse_args) - {"viewname", "args", "kwargs"}
            or _has_callable(link.attrs or {})
        ):
            return None
        args, kwargs = reverse_args.get("args") or [], reverse_args.get("kwargs") or {}
        values = [*args, *kwargs.values()]
        if not values or not all(isinstance(value, Accessor) for value in values):
            return None
        stand_ins = [f"zq{index}standin" for index in range(len(values))]
        try:
            if kwargs:
                pattern = reverse(
                    viewname,
                    args=stand_ins[: len(args)] or None,
                    kwargs=dict(zip(kwargs, stand_ins[len(args) :], strict=True)),
                )
            else:
                pattern = reverse(viewname, args=stand_ins)
        except NoReverseMatch:
            return None
        if any(pattern.count(stand_in) != 1 for stand_in in stand_ins):
            return None
        for index, stand_in in enumerate(stand_ins):
            pattern = pattern.replace(stand_in, f"{{{index}}}")
        attrs = AttributeDict(link.attrs or {}).as_html()
        return cls(pattern, values, format_html("{} ", attrs) if attrs else "")

    def url(self, record):
        """The link's URL for this record, or None when its values need reverse() itself."""
        values = []
        for accessor in self.accessors:
            try:
                value = accessor.resolve(record)
            except Exception:
                return None
            if not isinstance(value, str) or not self.SAFE.fullmatch(value):
                return None
            values.append(value)
        return self.pattern.format(*values)


def _step(current, bit):
    """One attribute of a model instance as django-tables2's Accessor reads it: called when
    callable (never a method that alters data), _FAILED when it is missing."""
    try:
        current = getattr(current, bit)
    except Exception:  # django-tables2 shows the column's default for any failure
        return _FAILED
    if callable(current):
        if getattr(current, "alters_data", False):
            return _FAILED
        if not getattr(current, "do_not_call_in_templates", False):
            try:
                current = current()
            except Exception:
                return _FAILED
    return current


def render_rows(table, context) -> str:
    """Every row of the table's current page (or of the table, unpaginated) as `<tr>` HTML, or
    the empty-text row; marked safe (every value is escaped on the way)."""
    rows = table.paginated_rows
    columns = [_CompiledColumn(table, bound_column) for bound_column in table.columns]
    static_rows = not table.row_attrs
    parts = []
    for row in rows:
        if static_rows:
            attrs = 'class="odd"' if row.row_counter % 2 else 'class="even"'
        else:
            attrs = row.attrs.as_html()
        parts.append(f"<tr {attrs}>")
        parts.extend(column.cell(row, context) for column in columns)
        parts.append("</tr>")
    if not parts and table.empty_text:
        return format_html('<tr><td colspan="{}">{}</td></tr>', len(columns), table.empty_text)
    # Every value is escaped by render_value_in_context, every attribute by as_html().
    return mark_safe("\n".join(parts))  # noqa: S308
