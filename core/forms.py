"""Form fields every app's forms share."""

from datetime import date, datetime
from zoneinfo import ZoneInfo

from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db.backends.base.operations import BaseDatabaseOperations
from django.forms.utils import flatatt
from django.utils import timezone
from django.utils.html import escape
from django.utils.safestring import mark_safe
from django.utils.text import format_lazy
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django_filters.widgets import RangeWidget

DATE_FORMAT = "%Y-%m-%d"
# Dates a form accepts: a day's bounds in any time zone, a day added for "until the end of it",
# stay within what Python and the databases can hold (year 1 to 9999).
EARLIEST_DATE = date(1900, 1, 1)
LATEST_DATE = date(9999, 12, 30)
# The largest value every database stores in a PositiveIntegerField (PostgreSQL's integer);
# SQLite would take more, so a form bounded on SQLite alone would fail on PostgreSQL.
MAX_POSITIVE_INTEGER = BaseDatabaseOperations.integer_field_ranges["PositiveIntegerField"][1]


def validate_date_in_range(value):
    """Refuse a date or datetime outside EARLIEST_DATE..LATEST_DATE (beside its field)."""
    day = value.date() if isinstance(value, datetime) else value
    if day is not None and not EARLIEST_DATE <= day <= LATEST_DATE:
        raise ValidationError(
            gettext("Enter a date between {earliest} and {latest}.").format(
                earliest=f"{EARLIEST_DATE:%Y-%m-%d}", latest=f"{LATEST_DATE:%Y-%m-%d}"
            ),
            code="date_out_of_range",
        )


def stored_integer_range(model_field) -> tuple[int, int] | None:
    """The values an integer model field holds on every database, or None for other fields."""
    return BaseDatabaseOperations.integer_field_ranges.get(model_field.get_internal_type())


DATETIME_FORMATS = ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M")


class DateAndTimeInput(forms.MultiWidget):
    """The browser's date input and an optional time input (to the second), with the shop's time
    zone named beside them. No script: the browser draws the pickers.

    The value is one string, "2030-12-31" or "2030-12-31 14:01:55", as the field reads it; a
    client posting that string as the field's own name (`access_expire=2030-12-31 14:01`, as
    scripts, tests and older pages do) is read as before.
    """

    template_name = "core/widgets/date_and_time.html"

    def __init__(self, attrs=None):
        widgets = {
            "date": forms.DateInput(attrs={"type": "date"}),
            "time": forms.TimeInput(attrs={"type": "time", "step": "1"}),
        }
        super().__init__(widgets, attrs)

    def decompress(self, value):
        if not value:
            return [None, None]
        day, _, time = str(value).replace("T", " ", 1).partition(" ")
        return [day, time or None]

    def value_from_datadict(self, data, files, name):
        if name in data:
            return data[name]
        day, time = ((data.get(f"{name}{suffix}") or "").strip() for suffix in self.widgets_names)
        return f"{day} {time}".strip() if day else time

    def value_omitted_from_data(self, data, files, name):
        return name not in data and super().value_omitted_from_data(data, files, name)

    def id_for_label(self, id_):
        return f"{id_}_0" if id_ else id_  # the field's label names the date input

    def get_context(self, name, value, attrs):
        context = super().get_context(name, value, attrs)
        context["widget"]["time_zone"] = settings.TIME_ZONE
        return context


class DateRangeWidget(RangeWidget):
    """A date filter's two browser date inputs, each with its own accessible name (the filter's
    label names the pair). `suffixes` name the two query parameters (`created_min`)."""

    def __init__(self, attrs=None, suffixes=("min", "max")):
        self.suffixes = list(suffixes)
        super().__init__(attrs={"type": "date", **(attrs or {})})
        self.widgets[0].attrs["aria-label"] = _("From")
        self.widgets[1].attrs["aria-label"] = _("To")


class DateOrDateTimeField(forms.CharField):
    """`2030-12-31` (a date: the service picks 00:00:01 or 23:59:59, in the shop's time zone)
    or `2030-12-31 14:01:55`, from the browser's date and time inputs (DateAndTimeInput)."""

    default_error_messages = {
        "invalid": _("Enter a date (YYYY-MM-DD), and a time (HH:MM[:SS]) if you want one.")
    }

    default_validators = [validate_date_in_range]
    widget = DateAndTimeInput

    def __init__(self, **kwargs):
        kwargs.setdefault("required", False)
        super().__init__(**kwargs)
        # The label names the date input; the time input says what it is on its own.
        self.widget.widgets[1].attrs["aria-label"] = format_lazy(
            "{} ({})", self.label, _("time, optional")
        )

    def widget_attrs(self, widget):
        return {}  # no maxlength on the date and time inputs

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


class ModelMultipleChoiceField(forms.ModelMultipleChoiceField):
    """Django's, but a key too big for its column is refused like any unknown key: SQLite cannot
    even compare with one (OverflowError in the `IN (...)` query)."""

    def _check_values(self, value):
        meta = self.queryset.model._meta
        key = self.to_field_name or "pk"
        bounds = stored_integer_range(meta.pk if key == "pk" else meta.get_field(key))
        for item in value if bounds else ():
            try:
                number = int(item)
            except (TypeError, ValueError):
                continue  # not a number: Django refuses it as it is
            if not bounds[0] <= number <= bounds[1]:
                raise ValidationError(
                    self.error_messages["invalid_pk_value"],
                    code="invalid_pk_value",
                    params={"pk": item},
                )
        return super()._check_values(value)
