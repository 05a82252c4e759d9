"""The base of every domain error: a stable `code`, a human `message` and the `field` concerned.

Each app names its refusals as subclasses (after the reference documents where they name them).
A form shows the message beside `field` (or above the form when it is None); an API answers the
code. Codes never change once published; messages may be reworded.
"""


class DomainError(Exception):
    code = "refused"
    message = "This was refused."
    field: str | None = None

    def __init__(self, message: str | None = None, *, field: str | None = None, **args):
        self.message = message or self.message
        if field is not None:
            self.field = field
        self.args_for_client = args  # named values a client may show (reference 000 Args)
        super().__init__(self.message)

    def __str__(self):
        return self.message


def show_on_form(form, error: DomainError) -> None:
    """Put a service's refusal beside its field, or above the form when the form lacks it."""
    form.add_error(error.field if error.field in form.fields else None, error.message)
