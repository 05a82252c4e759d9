"""The Django admin of big tables (purchases, accesses, ledgers): changelists that never count or
scan every row, and read-only pages for records that are never written by hand."""

from django.conf import settings
from django.contrib import admin
from django.contrib.admin import helpers
from django.contrib.admin.views.main import ORDER_VAR, ChangeList
from django.core.paginator import Paginator
from django.utils.functional import cached_property
from django.utils.html import format_html
from django.utils.text import smart_split, unescape_string_literal
from django.utils.translation import gettext as _

from .listing import capped_count
from .search import search_matches


class CappedCountAdminPaginator(Paginator):
    """Counts a changelist's rows exactly up to LIST_COUNT_LIMIT; past it the page says "more
    than" that many, and its numbered pages cover the counted rows (filters narrow the rest)."""

    @cached_property
    def count_limit(self) -> int:
        return settings.LIST_COUNT_LIMIT

    def __init__(self, *args, known_count=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.known_count = known_count  # rows the search box counted on the way, if it did

    @cached_property
    def count(self):
        if self.known_count is not None:
            return min(self.known_count, self.count_limit + 1)
        return capped_count(self.object_list, self.count_limit)

    @property
    def count_is_exact(self) -> bool:
        return self.count <= self.count_limit


@admin.display(description="currency")
def currency_code(record) -> str:
    """A row's currency code. Django would show the choice's label, looking it up among ~180
    currencies in every cell: half the time of a 100-row changelist."""
    return record.currency


class SortableByChangeList(ChangeList):
    """Sorts only by the columns in `sortable_by`, also when `?o=` names another one: the
    admin hides those headers' sort links, but a typed or old link would sort a million rows."""

    def get_ordering_field(self, field_name):
        if self.sortable_by is not None and field_name not in self.sortable_by:
            return None
        return super().get_ordering_field(field_name)

    def _get_deterministic_ordering(self, ordering):
        # Django breaks ties by "-pk" whatever the sort's direction; "amount, -pk" cannot be
        # read from the (amount, id) index, so an ascending sort breaks ties by "pk".
        ordering = super()._get_deterministic_ordering(ordering)
        if len(ordering) > 1 and ordering[-1] == "-pk":
            first = ordering[0]
            descending = getattr(first, "descending", None)
            if descending is None:
                descending = str(first).startswith("-")
            if not descending:
                ordering[-1] = "pk"
        return ordering

    def get_ordering(self, request, queryset):
        ordering = super().get_ordering(request, queryset)
        keys = ("pk", "-pk", self.lookup_opts.pk.name, f"-{self.lookup_opts.pk.name}")
        if self.params.get(ORDER_VAR) and all(str(field) in keys for field in ordering):
            # Nothing in `?o=` could be sorted by: keep the default order, not the bare pk.
            default = self.model_admin.get_ordering(request) or self._get_default_ordering()
            return self._get_deterministic_ordering(list(default))
        return ordering


class QuickCheckboxAdmin(admin.ModelAdmin):
    """A changelist whose row checkboxes are written directly."""

    def action_checkbox(self, obj):
        """Django's row checkbox, written directly: its widget template took 40% of the time
        of a 100-row changelist."""
        label = format_html(_("Select this object for an action - {}"), str(obj))
        return format_html(
            '<input type="checkbox" name="{}" value="{}" class="action-select" aria-label="{}">',
            helpers.ACTION_CHECKBOX_NAME,
            str(obj.pk),
            label,
        )


class LargeTableAdmin(QuickCheckboxAdmin):
    """A changelist that stays fast on a million rows.

    Django's admin counts every row twice a page (the filtered count and the full count) and
    `date_hierarchy` reads every row's date; pages of these models count up to a limit, once,
    and have no date hierarchy (a date filter in `list_filter` costs no query). A subclass lists
    in `sortable_by` only the columns an index can sort. The search box searches each table with
    its own indexes, as the staff lists do (core.search.search_matches): "=field" in
    `search_fields` is an exact, case-sensitive match (codes, references), other fields match
    when they contain the word.
    """

    paginator = CappedCountAdminPaginator
    show_full_result_count = False

    def get_changelist(self, request, **kwargs):
        return SortableByChangeList

    def get_search_results(self, request, queryset, search_term):
        fields = self.get_search_fields(request)
        if not fields:
            return queryset, False
        found = None
        for word in smart_split(search_term):  # every word must match, as in Django's admin
            if word.startswith(('"', "'")) and word[0] == word[-1] and len(word) > 1:
                word = unescape_string_literal(word)
            match = search_matches(queryset, fields, word)
            queryset, found = queryset.filter(match.condition), match.found
        # The changelist applies its filters before the search, so what the last word counted is
        # the page's count (get_paginator hands it on).
        request.search_found = found
        return queryset, False

    def get_paginator(self, request, queryset, per_page, orphans=0, allow_empty_first_page=True):
        return self.paginator(
            queryset,
            per_page,
            orphans,
            allow_empty_first_page,
            known_count=getattr(request, "search_found", None),
        )


class ReadOnlyAdmin(LargeTableAdmin):
    """Look, never add, change or delete: those rows are written only by the services."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
