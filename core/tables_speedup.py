"""django-tables2 inspects a method's signature for every cell it renders (to know which of
`value`, `record`, … to pass): ~250 `inspect.signature` calls, 12–14 ms of a 60–75 ms list page.
A function's signature never changes, so it is remembered per function, as Django's own
`django.utils.inspect` does since Django 3.2.

Installed from SiteConfig.ready(); tests/site/test_tables_speedup.py fails if a django-tables2
upgrade moves the function, so the patch never silently stops applying (or applies twice).
"""

import django_tables2.utils

_uncached_signature = django_tables2.utils.signature
_signatures: dict = {}
_MAX_REMEMBERED = 4096  # functions made at run time (closures) must not grow it for ever


def cached_signature(fn):
    """django-tables2's `signature(fn)`, remembered per function (a bound method's signature
    does not depend on the object it is bound to)."""
    key = (getattr(fn, "__func__", fn), hasattr(fn, "__func__"))
    try:
        return _signatures[key]
    except KeyError:
        pass
    except TypeError:  # not hashable: inspect it every time, as django-tables2 does
        return _uncached_signature(fn)
    if len(_signatures) >= _MAX_REMEMBERED:
        _signatures.clear()
    _signatures[key] = result = _uncached_signature(fn)
    return result


def install() -> None:
    django_tables2.utils.signature = cached_signature
