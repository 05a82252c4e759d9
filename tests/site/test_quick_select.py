"""QuickSelect (config/forms.py) writes the same select as Django's, faster: list filters use it."""

import pytest
from django import forms
from django.test.html import parse_html

from core.forms import QuickSelect
from purchases.filters import PurchaseFilter

CHOICES = [
    ("", "Any"),
    ("a&b", "Fish & <chips>"),
    ('"quoted"', "Quote's"),
    (3, "Three"),
    ("ä", "Ärger"),
]


@pytest.mark.parametrize("value", [None, "", "a&b", '"quoted"', "3", 3, "not offered", ["3", "ä"]])
def test_quick_select_renders_what_django_select_renders(value):
    attrs = {"id": "id_pick", "class": "form-select", "aria-label": "Pick <one>"}
    ours = QuickSelect(choices=CHOICES).render("pick", value, attrs)
    django = forms.Select(choices=CHOICES).render("pick", value, attrs)

    assert parse_html(ours) == parse_html(django)


def test_hostile_labels_are_escaped():
    html = QuickSelect(choices=[("<x>", "<script>alert(1)</script>")]).render("pick", None)

    assert "<script>" not in html and "&lt;script&gt;" in html
    assert 'value="&lt;x&gt;"' in html


@pytest.mark.django_db
def test_list_filters_keep_the_chosen_option_selected():
    form = PurchaseFilter(data={"currency": "EUR", "status": "failed"}, queryset=None).form

    assert isinstance(form.fields["currency"].widget, QuickSelect)
    assert '<option value="EUR" selected>' in str(form["currency"])
    assert '<option value="failed" selected>' in str(form["status"])
