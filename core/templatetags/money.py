from django import template

from core.money import quantize

register = template.Library()


@register.filter
def money(amount, currency):
    """`amount` with exactly `currency`'s minor digits and thousands separators: 1,234.50."""
    if amount is None or not currency:
        return ""
    return f"{quantize(amount, currency):,}"
