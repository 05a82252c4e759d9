"""Render form fields with Bootstrap's classes, so forms need no per-widget styling code."""

from django import forms, template

register = template.Library()


@register.filter
def styled(bound_field):
    """The field's widget with Bootstrap's class for its kind, and is-invalid when it has errors."""
    widget = bound_field.field.widget
    if isinstance(widget, (forms.CheckboxInput, forms.CheckboxSelectMultiple, forms.RadioSelect)):
        css = "form-check-input"
    elif isinstance(widget, (forms.Select, forms.SelectMultiple)):
        css = "form-select"
    else:
        css = "form-control"
    existing = widget.attrs.get("class", "")
    if bound_field.errors:
        css += " is-invalid"
    return bound_field.as_widget(attrs={"class": f"{existing} {css}".strip()})


@register.simple_tag
def active_filters(form) -> int:
    """How many of a bound filter form's fields hold a value (a range counts once)."""
    if form is None or not form.is_bound:
        return 0
    count = 0
    for name, field in form.fields.items():
        value = field.widget.value_from_datadict(form.data, form.files, form.add_prefix(name))
        values = value if isinstance(value, (list, tuple)) else [value]
        if any(item not in (None, "", "unknown") for item in values):
            count += 1
    return count
