"""Dates and times are picked with the browser's date and time inputs, the shop's time zone
named beside them; the old one-text format still works for scripts and API-like clients."""

from datetime import date, datetime

import pytest
from django import forms

from core.forms import DateOrDateTimeField


class AccessForm(forms.Form):
    access_expire = DateOrDateTimeField(label="Access expires")


def test_a_date_alone_from_the_date_input_stays_a_date():
    form = AccessForm({"access_expire_date": "2030-12-31", "access_expire_time": ""})
    assert form.is_valid()
    assert form.cleaned_data["access_expire"] == date(2030, 12, 31)


def test_a_date_and_time_from_both_inputs_is_a_moment():
    form = AccessForm({"access_expire_date": "2030-12-31", "access_expire_time": "14:01"})
    assert form.is_valid()
    assert form.cleaned_data["access_expire"] == datetime(2030, 12, 31, 14, 1)


@pytest.mark.parametrize(
    "text, value",
    [
        ("2030-12-31", date(2030, 12, 31)),
        ("2030-12-31 14:01:55", datetime(2030, 12, 31, 14, 1, 55)),
        ("2030-12-31T14:01", datetime(2030, 12, 31, 14, 1)),
    ],
)
def test_the_old_one_text_format_is_still_read(text, value):
    form = AccessForm({"access_expire": text})
    assert form.is_valid()
    assert form.cleaned_data["access_expire"] == value


def test_a_time_without_a_date_is_refused_with_a_message():
    form = AccessForm({"access_expire_date": "", "access_expire_time": "14:01"})
    assert not form.is_valid()
    assert "Enter a date" in form.errors["access_expire"][0]


def test_nothing_entered_is_no_date():
    form = AccessForm({"access_expire_date": "", "access_expire_time": ""})
    assert form.is_valid() and form.cleaned_data["access_expire"] is None


def test_the_inputs_are_the_browsers_with_the_zone_named(settings):
    settings.TIME_ZONE = "Europe/Berlin"
    html = str(AccessForm(initial={"access_expire": datetime(2030, 1, 2, 3, 4, 5)}))
    assert 'type="date" name="access_expire_date" value="2030-01-02"' in html
    assert 'type="time" name="access_expire_time" value="03:04:05" step="1"' in html
    assert 'aria-label="Access expires (time, optional)"' in html
    assert "Europe/Berlin" in html


@pytest.mark.django_db
def test_date_filters_name_the_shops_time_zone(client, finance_user, settings):
    settings.TIME_ZONE = "Asia/Tokyo"
    client.force_login(finance_user)
    for url in ("/purchases/", "/purchases/reports/"):
        assert "Days in the shop&#x27;s time zone, Asia/Tokyo." in client.get(url).content.decode()
