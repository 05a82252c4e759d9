"""The base of every domain error: a stable `code`, a human `message` and the `field` concerned.

Each app names its refusals as subclasses (after the reference documents where they name them).
A form shows the message beside `field` (or above the form when it is None); an API answers the
code. Codes never change once published; messages may be reworded.
"""

from contextlib import contextmanager

from django.utils.translation import gettext_lazy as _


class DomainError(Exception):
    code = "refused"
    message = _("This was refused.")
    field: str | None = None

    def __init__(self, message: str | None = None, *, field: str | None = None, **args):
        # A subclass's message is lazy (translated): read in the language of the request or job
        # that raises it, then a plain string, safe to compare, join and serialise.
        self.message = str(message or self.message)
        if field is not None:
            self.field = field
        self.args_for_client = args  # named values a client may show (reference 000 Args)
        super().__init__(self.message)

    def __str__(self):
        return self.message

    def each(self) -> list["DomainError"]:
        """The single refusals this error carries: itself (several for SeveralRefusals)."""
        return [self]


def show_on_form(form, error: DomainError) -> None:
    """Put each of a service's refusals beside its field, or above the form when the form lacks
    it."""
    for refusal in error.each():
        field = refusal.field if refusal.field in form.fields else None
        if refusal.message not in form.errors.get(field or "__all__", []):
            form.add_error(field, refusal.message)


class SeveralRefusals(DomainError):
    """Several refusals a service found at once, so a form shows every problem in one answer.

    Its code, message and field are the first refusal's: a client that reads one error (the
    HTTP API) answers that one. Each app raises its own subclass (also a subclass of the app's
    base error), so code catching the app's errors catches these too.
    """

    def __init__(self, refusals):
        self.refusals = list(refusals)
        first = self.refusals[0]
        self.code = first.code
        super().__init__(first.message, field=first.field, **first.args_for_client)

    def each(self) -> list[DomainError]:
        return [single for refusal in self.refusals for single in refusal.each()]


class Refusals:
    """Collects what a service's checks refuse, to raise it all together:

    refusals = Refusals(CatalogRefusals)
    if not subscription.name:
        refusals.add(FieldRequired(field="name"))
    with refusals.collecting():
        check_something_that_raises(...)
    refusals.raise_any()  # nothing, the one refusal, or `CatalogRefusals` of them all
    """

    def __init__(self, group: type[SeveralRefusals] = SeveralRefusals):
        self.group = group
        self.found: list[DomainError] = []

    def add(self, refusal: DomainError) -> None:
        self.found.append(refusal)

    def has(self, field: str) -> bool:
        """Whether `field` is already refused (later checks that read it may skip)."""
        return any(refusal.field == field for refusal in self.found)

    @contextmanager
    def collecting(self):
        try:
            yield
        except DomainError as refusal:
            self.add(refusal)

    def raise_any(self) -> None:
        if len(self.found) == 1:
            raise self.found[0]
        if self.found:
            raise self.group(self.found)
