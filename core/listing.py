"""The one list-page pattern every staff list reuses.

A list page is a django-tables2 table, a django-filter filter form with a search box, sorting by
column, pagination, and the exports (CSV and .xlsx) of exactly the filtered rows. It is built to
stay fast on a million rows:

- the count is exact only up to LIST_COUNT_LIMIT rows (a bounded `COUNT(*)` over a `LIMIT`ed
  subquery); beyond it the page says "more than N" and pages on by looking one row ahead,
  so no page ever counts the whole table;
- the ordering always ends with the primary key, so paging is stable when sorted by a column
  with equal values;
- the page size is capped, so no request can ask for every row at once;
- the export streams the same filtered queryset with `.iterator()`, never loading it whole.

A page declares its model's table, filter set and permission:

    class MediaList(ListPageView):
        permission_required = "subscriptions.view_media"
        table_class = MediaTable
        filterset_class = MediaFilter
        export_name = "media"
"""

import functools
import math
from datetime import datetime

import django_filters
import django_tables2 as tables
from django.conf import settings
from django.contrib.auth.mixins import PermissionRequiredMixin
from django.core.exceptions import PermissionDenied
from django.core.paginator import EmptyPage, Page, PageNotAnInteger, Paginator
from django.db.models import QuerySet
from django.forms import NullBooleanSelect
from django.http import HttpResponseRedirect
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.functional import cached_property
from django.utils.html import strip_tags
from django.utils.safestring import mark_safe
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django_filters.views import FilterView
from django_tables2.data import TableQuerysetData
from django_tables2.rows import BoundRow

from .csv_export import (
    EXCEL_LINE_END,
    ExportColumn,
    csv_chunks,
    csv_response,
    export_filename,
    format_cell,
)
from .forms import QuickSelect, validate_date_in_range
from .keyset import Keyset
from .search import search_matches

# The header of a table's buttons column: read by screen readers, not shown.
ACTIONS_HEADER = mark_safe('<span class="visually-hidden">Actions</span>')  # noqa: S308 (constant)

MAX_PER_PAGE = 100
DEFAULT_PER_PAGE = 25


def capped_count(queryset, limit: int) -> int:
    """The number of rows, counted exactly up to `limit` and as `limit + 1` past it.

    Only the keys are counted: annotations (counts of related rows) are for the shown rows.
    """
    return queryset.order_by().values("pk")[: limit + 1].count()


class CappedCountPaginator(Paginator):
    """Counts matching rows exactly up to a limit; past it, pages on by sort key (keyset).

    Numbered pages cover the counted rows (their OFFSET is at most the limit, so they are cheap).
    Past them, "Next" and "Previous" carry a cursor (`after=` / `before=`) that names the row a
    page starts from, and the page is read from the index however deep it is. A list whose
    ordering cannot be keyed (an expression, no unique last key) pages on by OFFSET instead.
    """

    def __init__(self, object_list, per_page, orphans=0, allow_empty_first_page=True, **kwargs):
        self.count_limit = kwargs.pop("count_limit", None) or settings.LIST_COUNT_LIMIT
        self.after = kwargs.pop("after", None) or None
        self.before = kwargs.pop("before", None) or None
        # Rows already counted on the way (the search box's key set), up to the limit + 1.
        self.known_count = kwargs.pop("known_count", None)
        per_page = max(1, min(int(per_page), MAX_PER_PAGE))
        super().__init__(object_list, per_page, orphans, allow_empty_first_page, **kwargs)

    def _queryset(self):
        data = self.object_list
        if hasattr(data, "data") and isinstance(data.data, TableQuerysetData):
            return data.data.data  # django-tables2 rows -> table data -> queryset
        return data if isinstance(data, QuerySet) else None

    @cached_property
    def keyset(self):
        queryset = self._queryset()
        keyset = Keyset(queryset) if queryset is not None else None
        return keyset if keyset is not None and keyset.usable else None

    @cached_property
    def count(self):
        if self.known_count is not None:
            return min(self.known_count, self.count_limit + 1)
        queryset = self._queryset()
        if queryset is None:
            return len(self.object_list)
        return capped_count(queryset, self.count_limit)

    @property
    def count_is_exact(self):
        return self.count <= self.count_limit

    @cached_property
    def num_pages(self):
        if self.count == 0 and not self.allow_empty_first_page:
            return 0
        return max(1, math.ceil(self.count / self.per_page))

    def is_counted(self, number):
        """Whether page `number` lies within the counted rows (reachable by its number)."""
        return self.count_is_exact or (number - 1) * self.per_page < self.count_limit

    def validate_number(self, number):
        try:
            number = int(number)
        except (TypeError, ValueError):
            raise PageNotAnInteger("That page number is not an integer") from None
        if number < 1:
            raise EmptyPage("That page number is less than 1")
        if number > self.num_pages and self.count_is_exact:
            raise EmptyPage("That page contains no results")
        return number

    def page(self, number):
        number = self.validate_number(number)
        cursor_page = self._cursor_page(number)
        if cursor_page is not None:
            return cursor_page
        if number > 1 and not self.is_counted(number) and self.keyset is not None:
            number = 1  # deep pages are reached by cursor; a bare deep number starts over
        bottom = (number - 1) * self.per_page
        if self.count_is_exact:
            return self._get_page(self._rows(bottom, bottom + self.per_page), number, self)
        # Past the counted rows: fetch one row more than a page to know whether a next page exists.
        rows = list(self._rows(bottom, bottom + self.per_page + 1))
        if not rows and number > 1:
            raise EmptyPage("That page contains no results")
        return CappedPage(rows[: self.per_page], number, self, has_more=len(rows) > self.per_page)

    def _rows(self, bottom, top):
        """Rows `bottom` to `top` in the list's order. Past the first page only the keys are
        read by OFFSET, from the sort index alone; the page's rows, with their joins and
        annotations, are then read by key: an OFFSET over the joined rows made the last
        numbered page three times as slow as the first."""
        queryset = self._queryset()
        if bottom == 0 or queryset is None:
            return self.object_list[bottom:top]
        keys = list(queryset.values_list("pk", flat=True)[bottom:top])
        records = {record.pk: record for record in queryset.filter(pk__in=keys).order_by()}
        table = self.object_list.table
        return [BoundRow(records[key], table=table) for key in keys if key in records]

    def _cursor_page(self, number):
        token = self.after or self.before
        if token is None or self.keyset is None or number < 2:
            return None
        values = self.keyset.values_from(token)
        if values is None:
            return None
        queryset, table = self._queryset(), self.object_list.table
        if self.after:
            records = list(queryset.filter(self.keyset.after(values))[: self.per_page + 1])
            has_more = len(records) > self.per_page
            records = records[: self.per_page]
        else:
            records = list(
                queryset.filter(self.keyset.before(values)).order_by(
                    *self.keyset.reversed_ordering()
                )[: self.per_page]
            )[::-1]
            has_more = True  # the page this cursor came from follows
        rows = [BoundRow(record, table=table) for record in records]
        return CappedPage(rows, number, self, has_more=has_more)

    def _get_page(self, *args, **kwargs):
        return CappedPage(*args, **kwargs, has_more=None)


class CappedPage(Page):
    def __init__(self, object_list, number, paginator, has_more):
        super().__init__(object_list, number, paginator)
        self.has_more = has_more

    def has_next(self):
        if self.has_more is None:
            return super().has_next()
        return self.has_more

    def _record(self, index):
        row = self.object_list[index]
        return getattr(row, "record", row)

    @cached_property
    def next_cursor(self):
        """The `after=` cursor for the next page when that page lies past the counted rows."""
        paginator = self.paginator
        if not self.has_next() or paginator.keyset is None or not len(self.object_list):
            return None
        if paginator.is_counted(self.number + 1):
            return None
        return paginator.keyset.token_for(self._record(-1))

    @cached_property
    def previous_cursor(self):
        """The `before=` cursor for the previous page when it lies past the counted rows."""
        paginator = self.paginator
        if not self.has_previous() or paginator.keyset is None or not len(self.object_list):
            return None
        if paginator.is_counted(self.number - 1):
            return None
        return paginator.keyset.token_for(self._record(0))

    def page_links(self):
        """Page numbers to show around this one, `None` for a gap: 1 … 4 5 [6] 7 8 … 40.

        Past the counted rows only the first page and this one are numbered: the rest are
        reached by Previous and Next.
        """
        paginator = self.paginator
        if paginator.count_is_exact:
            last = paginator.num_pages
            numbers = {1, last, *range(max(1, self.number - 2), min(last, self.number + 2) + 1)}
        else:
            numbers = {1, self.number}
            numbers |= {
                n
                for n in range(max(1, self.number - 2), self.number + 3)
                if paginator.is_counted(n) and (n <= self.number or self.has_next())
            }
        links, previous = [], 0
        for n in sorted(numbers):
            if n - previous > 1:
                links.append(None)
            links.append(n)
            previous = n
        return links


_NUMERIC_DATE_CODES = {
    "Y": "{0.year:04d}",
    "m": "{0.month:02d}",
    "d": "{0.day:02d}",
    "H": "{0.hour:02d}",
    "i": "{0.minute:02d}",
    "s": "{0.second:02d}",
}


@functools.cache
def numeric_date_pattern(format: str) -> str | None:
    """A `str.format` pattern giving what Django's `date` format `format` gives, when it is made
    only of numeric codes (Y m d H i s) and punctuation, which no language changes; else None."""
    pattern = []
    for char in format:
        if char in _NUMERIC_DATE_CODES:
            pattern.append(_NUMERIC_DATE_CODES[char])
        elif char in " -:/.,T":
            pattern.append(char)
        else:
            return None
    return "".join(pattern)


class DateTimeColumn(tables.Column):
    """django-tables2's DateTimeColumn (the shop's local time, Django's `date` format codes),
    without compiling a template for every cell: that column took a fifth of a list page's
    time. Exported as the time itself (core.csv_export writes it in the shop's time zone, to the
    second, and names the zone in the header); an empty date exports as an empty cell, not "—",
    so a spreadsheet reads the column as dates."""

    export_kind = "time"

    def __init__(self, *args, format="SHORT_DATETIME_FORMAT", **kwargs):
        self.format = format
        super().__init__(*args, **kwargs)

    def render(self, value, bound_column=None):
        if isinstance(value, datetime) and timezone.is_aware(value):
            value = timezone.localtime(value)
        if isinstance(value, datetime) and (pattern := numeric_date_pattern(self.format)):
            return pattern.format(value)  # what date_format gives, without its parser
        try:
            return date_format(value, self.format)
        except (TypeError, AttributeError):  # a time format for a date: shown as empty
            return bound_column.default if bound_column is not None else ""

    def value(self, value):
        if isinstance(value, datetime):
            return value
        return self.render(value) or None


class ListTable(tables.Table):
    """A table whose ordering always ends with the primary key, so pages never overlap."""

    class Meta:
        attrs = {"class": "table table-sm table-hover align-middle mb-0"}
        per_page = DEFAULT_PER_PAGE
        empty_text = _("Nothing matches these filters.")

    @tables.Table.order_by.setter
    def order_by(self, value):
        if isinstance(value, str):
            value = value.split(",")
        if value is not None:
            # Only this table's column names: anything else (from the query string) is ignored,
            # as django-tables2 ignores unknown names, without its warning about "." in them.
            value = tuple(name for name in value if str(name).lstrip("-") in self.columns.columns)
            value = value or self._meta.order_by  # nothing sortable asked: the default order
        tables.Table.order_by.fset(self, value)
        if isinstance(self.data, TableQuerysetData):
            queryset = self.data.data
            ordering = list(queryset.query.order_by or queryset.model._meta.ordering or [])
            if not any(field.lstrip("-") in ("pk", "id") for field in map(str, ordering)):
                descending = bool(ordering) and str(ordering[0]).startswith("-")
                tiebreak = "-pk" if descending or not ordering else "pk"
                self.data.data = queryset.order_by(*ordering, tiebreak)


class AnyYesNoSelect(NullBooleanSelect):
    """A yes/no filter whose empty choice reads "Any", not Django's "Unknown"."""

    def __init__(self, attrs=None):
        super().__init__(attrs)
        self.choices = [("unknown", _("Any")), ("true", _("Yes")), ("false", _("No"))]


class ListFilterSet(django_filters.FilterSet):
    """A filter set with a search box `q` over `search_fields`: case-insensitive contains, or
    an exact match for a field written "=code" (public codes and gateway references are pasted
    whole, and an exact match reads the unique index).

    Yes/no filters read Any/Yes/No (choice filters say "Any" through FILTERS_EMPTY_CHOICE_LABEL).
    """

    search_fields: tuple[str, ...] = ()

    q = django_filters.CharFilter(label=_("Search"), method="filter_search")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.search_fields and "q" in self.filters:
            self.filters["q"].extra.setdefault("help_text", self.search_help())
        for filter_ in self.filters.values():
            if isinstance(filter_, django_filters.BooleanFilter):
                filter_.extra.setdefault("widget", AnyYesNoSelect())
            elif isinstance(
                filter_, (django_filters.ChoiceFilter, django_filters.ModelChoiceFilter)
            ):
                filter_.extra.setdefault("widget", QuickSelect())
            if isinstance(filter_, django_filters.DateFromToRangeFilter):
                # A day near year 1 or 9999 in the shop's time zone is out of range in UTC.
                filter_.extra.setdefault("validators", [validate_date_range_in_range])
                filter_.extra.setdefault("help_text", days_in_shop_time_zone())

    def search_help(self) -> str:
        """What the search box looks in: "Whole code, e-mail or name"."""
        names = []
        for field in self.search_fields:
            model, parts = self._meta.model, field.removeprefix("=").split("__")
            for part in parts[:-1]:
                model = model._meta.get_field(part).related_model
            name = str(model._meta.get_field(parts[-1]).verbose_name)
            if len(parts) > 1:
                name = gettext("{model}'s {field}").format(
                    model=model._meta.verbose_name, field=name
                )
            entry = gettext("whole {field}").format(field=name) if field.startswith("=") else name
            if entry not in names:
                names.append(entry)
        text = (
            gettext("{items} or {last}").format(items=", ".join(names[:-1]), last=names[-1])
            if len(names) > 1
            else names[-1]
        )
        return text[0].upper() + text[1:] + "."

    # How many rows the search box matched, when the search counted them (core.search); the
    # list's paginator then needs no count of its own.
    search_found: int | None = None

    def filter_queryset(self, queryset):
        # The search box last: its key set is read from the rows the other filters leave, so its
        # count is the list's count.
        data = self.form.cleaned_data
        for name in sorted(data, key=lambda name: name == "q"):
            queryset = self.filters[name].filter(queryset, data[name])
        return queryset

    def filter_search(self, queryset, name, value):
        value = value.strip()
        if not value or not self.search_fields:
            return queryset
        match = search_matches(queryset, self.search_fields, value)
        self.search_found = match.found
        return queryset.filter(match.condition)


def days_in_shop_time_zone() -> str:
    return gettext("Days in the shop's time zone, {zone}.").format(zone=settings.TIME_ZONE)


def validate_date_range_in_range(value: slice) -> None:
    """Both ends of a date-range filter between EARLIEST_DATE and LATEST_DATE."""
    for end in (value.start, value.stop):
        if end is not None:
            validate_date_in_range(end)


class ListPageView(PermissionRequiredMixin, tables.SingleTableMixin, FilterView):
    """Table, filters, search, sorting, capped-count pages, CSV export of the filtered rows."""

    template_name = "partials/list_page.html"
    paginator_class = CappedCountPaginator
    table_pagination = {"per_page": DEFAULT_PER_PAGE}
    title = ""
    # Set to offer the exports (CSV and .xlsx); the file is <export_name>_<from>_to_<to>.csv
    export_name = ""
    # The core.csv_export.CsvReport the export downloads (COPY on PostgreSQL: for big tables);
    # None: the table's columns.
    csv_report = None
    create_url = ""  # a URL name, shown as the page's main button when the user may add
    create_permission = ""
    # An invalid filter shows its errors and the full list, rather than hiding every row.
    strict = False

    def get_table_pagination(self, table):
        paginate = super().get_table_pagination(table)
        if isinstance(paginate, dict):
            query = self.request.GET
            paginate.update(after=query.get("after"), before=query.get("before"))
            filterset = getattr(self, "filterset", None)
            if filterset is not None and self.object_list is getattr(filterset, "_qs", None):
                paginate["known_count"] = filterset.search_found
        return paginate

    export_permission = ""  # when set, the export needs it on top of the page's permission

    def may_export(self):
        return bool(self.export_name) and (
            not self.export_permission or self.request.user.has_perm(self.export_permission)
        )

    def get(self, request, *args, **kwargs):
        export = request.GET.get("export")
        if export and self.export_name:
            if export == "csv" and request.GET.get("excel") == "1":
                # "CSV for Excel" (a BOM on a comma file) gave way to a real workbook.
                return redirect_to_xlsx(request, "export")
            if export in EXPORT_FORMATS:
                if not self.may_export():
                    raise PermissionDenied(
                        "Exporting this list needs the money-reports permission."
                    )
                return self.export_csv() if export == "csv" else self.export_xlsx()
        return super().get(request, *args, **kwargs)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        query = self.request.GET.copy()
        for paging in ("page", "after", "before"):
            query.pop(paging, None)
        query["export"] = "csv"
        xlsx_query = query.copy()
        xlsx_query["export"] = "xlsx"
        title = self.title or self.model._meta.verbose_name_plural.capitalize()
        context.update(
            title=title,
            export_query=query.urlencode() if self.may_export() else "",
            xlsx_query=xlsx_query.urlencode() if self.may_export() else "",
            create_url=self.create_url
            if self.create_url and self.request.user.has_perm(self.create_permission)
            else "",
            breadcrumbs=[(title, None)],
        )
        return context

    def filtered_queryset(self):
        filterset = self.get_filterset(self.get_filterset_class())
        return (
            filterset.qs if filterset.is_valid() or not self.strict else filterset.queryset.none()
        )

    def export_table(self):
        """The table of exactly the rows the list shows for these filters and this sort."""
        table = self.get_table_class()(data=self.filtered_queryset())
        table.order_by = self.request.GET.get(table.order_by_field) or table.order_by
        return table

    def export_filename(self, extension: str) -> str:
        """`<export_name>_<from>_to_<to>.<extension>`: the range of the list's first date
        filter, or of the report's (`csv_report.date_filter`)."""
        filterset = self.get_filterset(self.get_filterset_class())
        if self.csv_report is not None:
            return self.csv_report.filename(filterset, extension)
        start = end = None
        if filterset.is_bound and filterset.form.is_valid():
            for name, filter_ in filterset.filters.items():
                value = filterset.form.cleaned_data.get(name)
                if isinstance(filter_, django_filters.DateFromToRangeFilter) and value:
                    start, end = value.start, value.stop
                    break
        return export_filename(self.export_name, start, end, extension)

    def export_columns(self, table):
        """The table's exported columns and their ExportColumn (header, kind) for each."""
        columns = [
            column
            for column in table.columns.iterall()
            if not column.column.exclude_from_export and column.name != "actions"
        ]
        described = []
        for column in columns:
            kind = getattr(column.column, "export_kind", "any")
            header = strip_tags(str(column.header))
            described.append(ExportColumn(header, column.name, kind, currency="currency"))
        return columns, described

    def export_rows(self, table, columns):
        """Each row's cells as values of their type: a stored code (a status, a currency) rather
        than its label, a time in the shop's time zone."""
        queryset = table.data.data
        kinds = [getattr(column.column, "export_kind", "any") for column in columns]
        stored = choice_fields(table, columns)
        for record in queryset.iterator(chunk_size=2000):
            row = BoundRow(record, table=table)
            cells = []
            for column, kind in zip(columns, kinds, strict=True):
                if column.name in stored:
                    value = stored[column.name].resolve(record, quiet=True)
                else:
                    value = row.get_cell_value(column.name)
                if isinstance(value, datetime) and timezone.is_aware(value):
                    value = timezone.localtime(value)
                cells.append(None if value in (None, "") and kind != "any" else value)
            yield cells

    def export_csv(self):
        """Stream exactly the rows the list shows for these filters and this sort, every page."""
        table = self.export_table()
        if self.csv_report is not None:
            return self.csv_report.download(
                table.data.data, filterset=self.get_filterset(self.get_filterset_class())
            )
        columns, described = self.export_columns(table)
        header = [format_cell(column.title) for column in described]
        rows = (
            [format_cell(value, "any") or "" for value in cells]
            for cells in self.export_rows(table, columns)
        )
        return csv_response(
            self.export_filename("csv"), csv_chunks(header, rows, end=EXCEL_LINE_END)
        )

    def export_xlsx(self):
        """The same rows as the CSV, as a workbook with typed cells (core.xlsx_export)."""
        from .xlsx_export import xlsx_response  # XlsxWriter loads only for a workbook

        table = self.export_table()
        if self.csv_report is not None:
            return self.csv_report.download_xlsx(
                table.data.data, filterset=self.get_filterset(self.get_filterset_class())
            )
        columns, described = self.export_columns(table)
        return xlsx_response(
            self.export_filename("xlsx"), described, self.export_rows(table, columns)
        )


EXPORT_FORMATS = ("csv", "xlsx")


def redirect_to_xlsx(request, parameter: str):
    """An old "CSV for Excel" link (`excel=1`) answers with the workbook's address."""
    query = request.GET.copy()
    query.pop("excel", None)
    query[parameter] = "xlsx"
    return HttpResponseRedirect(f"{request.path}?{query.urlencode()}")


def choice_fields(table, columns) -> dict[str, tables.A]:
    """The accessors of plain columns that show a choices field as it is: exported as the
    stored value (`EUR`, `past_due`), not its label (`EUR · Euro`)."""
    model = getattr(table._meta, "model", None)
    found = {}
    for column in columns:
        if type(column.column) is not tables.Column or hasattr(table, f"value_{column.name}"):
            continue
        accessor = tables.A(column.accessor)
        field = accessor.get_field(model) if model is not None else None
        if field is not None and getattr(field, "choices", None):
            found[column.name] = accessor
    return found
