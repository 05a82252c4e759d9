"""Form fields every app's forms share."""

from datetime import date, datetime
from zoneinfo import ZoneInfo

from django import forms
from django.conf import settings
from django.forms.utils import flatatt
from django.utils import timezone
from django.utils.html import escape
from django.utils.safestring import mark_safe

DATE_FORMAT = "%Y-%m-%d"
DATETIME_FORMATS = ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M")


class DateOrDateTimeField(forms.CharField):
    """`2030-12-31` (a date: the service picks 00:00:01 or 23:59:59, in the shop's time zone)
    or `2030-12-31 14:01:55`."""

    default_error_messages = {
        "invalid": "Enter a date as YYYY-MM-DD, or a date and time as YYYY-MM-DD HH:MM[:SS]."
    }

    def __init__(self, **kwargs):
        kwargs.setdefault("required", False)
        super().__init__(**kwargs)
        self.widget.attrs.update(placeholder="YYYY-MM-DD or YYYY-MM-DD HH:MM", maxlength="19")

    def prepare_value(self, value):
        if isinstance(value, datetime):
            if timezone.is_aware(value):
                value = value.astimezone(ZoneInfo(settings.TIME_ZONE))
            return value.strftime("%Y-%m-%d %H:%M:%S")
        if isinstance(value, date):
            return value.strftime(DATE_FORMAT)
        return value

    def to_python(self, value):
        value = (super().to_python(value) or "").strip()
        if not value:
            return None
        try:
            return datetime.strptime(value, DATE_FORMAT).date()
        except ValueError:
            pass
        for pattern in DATETIME_FORMATS:
            try:
                return datetime.strptime(value, pattern)
            except ValueError:
                continue
        raise forms.ValidationError(self.error_messages["invalid"], code="invalid")


class QuickSelect(forms.Select):
    """A select whose options are written by plain string formatting.

    Django builds a dict and renders a template per `<option>`: the purchases filter's ~200
    subscriptions and ~180 currencies took 20 ms of a 50 ms list page. Same markup (one option
    selected, labels and values escaped), without option groups.
    """

    def render(self, name, value, attrs=None, renderer=None):
        selected = {str(v) for v in self.format_value(value)}
        options = []
        for option_value, label in self.choices:
            if isinstance(label, (list, tuple)):
                raise ValueError("QuickSelect does not render option groups")
            option_value = "" if option_value is None else str(option_value)
            mark = ""
            if option_value in selected:
                mark, selected = " selected", set()  # one selected option, as Django's Select
            options.append(f'<option value="{escape(option_value)}"{mark}>{escape(label)}</option>')
        return mark_safe(  # noqa: S308  (every value and label above is escaped)
            f'<select name="{escape(name)}"{flatatt(self.build_attrs(self.attrs, attrs))}>'
            + "".join(options)
            + "</select>"
        )
