"""config/tables_speedup.py: django-tables2's per-cell signature inspection is remembered."""

import django_tables2.utils
import pytest

from core import tables_speedup
from tests.subscriptions.factories import SubscriptionFactory


def test_the_patch_is_installed_where_django_tables2_looks_it_up():
    # A django-tables2 upgrade that renames or moves `signature` fails here: re-check the patch.
    assert django_tables2.utils.signature is tables_speedup.cached_signature
    assert tables_speedup._uncached_signature.__module__ == "django_tables2.utils"


class Column:
    def render(self, value, record):
        return value

    def value(self, *args, **kwargs):
        return args

    @classmethod
    def build(cls, table):
        return table


@pytest.mark.parametrize(
    "fn",
    [
        Column().render,
        Column().value,
        Column.build,
        lambda record, value=None: record,
        lambda **kwargs: kwargs,
        Column.render,  # a plain function: `self` is an argument
    ],
)
def test_remembered_signatures_equal_django_tables2s(fn):
    assert tables_speedup.cached_signature(fn) == tables_speedup._uncached_signature(fn)
    assert tables_speedup.cached_signature(fn) == tables_speedup._uncached_signature(fn)


def test_a_method_bound_to_another_object_has_the_same_signature():
    first, second = Column().render, Column().render
    assert tables_speedup.cached_signature(first) == (("value", "record"), None)
    assert tables_speedup.cached_signature(second) == (("value", "record"), None)
    assert tables_speedup.cached_signature(Column.render) == (("self", "value", "record"), None)


@pytest.mark.django_db
def test_list_pages_render_the_same_cells(admin_client):
    subscription = SubscriptionFactory(name="Cooking <live>")
    response = admin_client.get("/subscriptions/")

    assert subscription.code in response.text
    assert "Cooking &lt;live&gt;" in response.text
