"""The search box of the list pages and of the big tables' Django admin.

A search looks for one word in several fields, some on the listed table ("=code": equal to it;
"email": contains it, any letter case) and some on related tables ("buyer__email"). One OR across
the joins reads every row of a million when the word is rare: PostgreSQL walks the sort index
looking for rows that are not there. A key set united from each table's own indexes is right for
a rare word but, for a common one, reads every match (tens of thousands of rows) to show 100.

So a search is done in two steps, each bounded by LIST_COUNT_LIMIT (the most rows a list counts):

1. The matching keys of the listed rows are read branch by branch, at most LIST_COUNT_LIMIT + 1
   of them: the table's own fields with their own indexes; for each related table, its matching
   keys first (its trigram indexes, at most RELATED_KEY_LIST_LIMIT of them), then the listed rows
   holding those keys (`buyer_id = ANY(...)`, read from the foreign key's index); a related table
   with more matches is joined as a semi-join, driven from its trigram index.
2. If they are at most LIST_COUNT_LIMIT, the search is exactly that key set (`pk = ANY(...)`),
   and its size is the list's count (the paginator counts nothing more). If there are more, the
   word is common: the search is one OR across the joins, which PostgreSQL reads along the sort
   index, finding a page of matches within a few thousand rows; the list says "more than
   LIST_COUNT_LIMIT results".

Both find the same rows as one OR over the joins (tests/site/test_list_search.py).
"""

from dataclasses import dataclass

from django.conf import settings
from django.db.models import F, Q
from django.db.models.lookups import In

# The most related keys (buyers) a search reads as a list; a word matching more is joined as a
# semi-join, which PostgreSQL then drives from the trigram index (measured on the 1M shop: a
# list of 10k buyers read from the trigram index and probed one by one cost more than the join).
RELATED_KEY_LIST_LIMIT = 1000


@dataclass(frozen=True)
class SearchMatch:
    """The rows a search found: `condition` selects them; `found` is how many rows it matched
    when that was counted on the way, up to the bound (the bound + 1 meaning "more"), or None
    when it was not counted."""

    condition: Q
    found: int | None = None


def field_lookup(field: str, value: str) -> Q:
    """One search field as a lookup: "=field" equals `value`, "field" contains it (any case)."""
    path = field.removeprefix("=")
    return Q(**{f"{path}__{'exact' if field.startswith('=') else 'icontains'}": value})


def search_matches(queryset, fields, value: str, *, bound: int | None = None) -> SearchMatch:
    """The rows of `queryset` where `value` is in any of `fields` (see the module's docstring).

    `queryset` carries the list's other filters, so the key set and its count are those of the
    rows the list shows."""
    bound = settings.LIST_COUNT_LIMIT if bound is None else bound
    model = queryset.model
    own, related = Q(), {}
    for field in fields:
        relation, _, rest = field.removeprefix("=").partition("__")
        if rest:
            related.setdefault(relation, []).append(("=" if field.startswith("=") else "") + rest)
        else:
            own |= field_lookup(field, value)
    if not related:
        # One table: PostgreSQL ORs its trigram indexes (to count) or walks the sort index.
        return SearchMatch(own)
    branches = [own] if own else []
    for relation, subfields in related.items():
        field = model._meta.get_field(relation)
        target = field.related_model._base_manager.filter(_any_of(subfields, value)).order_by()
        # The related table's keys first, from its own indexes: for a rarer word, rows by a short
        # list of keys is a plan PostgreSQL cannot get wrong (a semi-join it may drive along the
        # foreign key's whole index).
        limit = RELATED_KEY_LIST_LIMIT
        target_keys = list(target.values_list("pk", flat=True)[: limit + 1])
        matches = target.values("pk") if len(target_keys) > limit else target_keys
        if not target_keys:
            continue
        if field.concrete and isinstance(matches, list):  # a foreign key: its column holds the key
            branches.append(Q(KeysIn(F(field.attname), matches)))
        elif field.concrete:
            branches.append(Q(**{f"{relation}__in": matches}))
        else:  # many rows on the other side: a semi-join, so no row is counted twice
            listed = model._base_manager.filter(**{f"{relation}__in": matches}).values("pk")
            branches.append(Q(pk__in=listed))
    rows = queryset.order_by().values_list("pk", flat=True)
    keys: set = set()
    for branch in branches:
        keys.update(rows.filter(branch)[: bound + 1])
        if len(keys) > bound:
            return SearchMatch(_across_joins(model, fields, value), found=bound + 1)
    if not keys:
        # Nothing, as a condition every consumer can compile (the COPY export writes its SQL;
        # `pk IN ()` has none).
        return SearchMatch(Q(pk__isnull=True), found=0)
    return SearchMatch(Q(KeysIn(F("pk"), sorted(keys))), found=len(keys))


class KeysIn(In):
    """`column IN (keys)`; on PostgreSQL `column = ANY(%s)` with the keys as one array: ten
    thousand keys are then one constant to parse and plan, not ten thousand."""

    def as_postgresql(self, compiler, connection):
        lhs, lhs_params = self.process_lhs(compiler, connection)
        _, rhs_params = self.batch_process_rhs(compiler, connection, self.rhs)
        return f"{lhs} = ANY(%s)", (*lhs_params, list(rhs_params))


def _any_of(fields, value) -> Q:
    condition = Q()
    for field in fields:
        condition |= field_lookup(field, value)
    return condition


def _across_joins(model, fields, value) -> Q:
    """One OR over the joins; a field reached through a many-valued relation is a semi-join,
    so no row is listed twice."""
    condition = Q()
    for field in fields:
        lookup = field_lookup(field, value)
        if _single_valued(model, field.removeprefix("=")):
            condition |= lookup
        else:
            condition |= Q(pk__in=model._base_manager.filter(lookup).values("pk"))
    return condition


def _single_valued(model, path: str) -> bool:
    """Whether every relation on `path` leads to at most one row (a foreign key or one-to-one
    followed forwards)."""
    for part in path.split("__")[:-1]:
        field = model._meta.get_field(part)
        if not (field.many_to_one or (field.one_to_one and field.concrete)):
            return False
        model = field.related_model
    return True
