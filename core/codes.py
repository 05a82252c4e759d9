"""Public codes: the short identifiers (like `X150Kl1d`) that users see instead of database ids.

Eight letters and digits from a cryptographic generator: 62**8 (about 2 * 10**14) values, so
codes cannot be guessed or enumerated, and a collision is re-drawn before the row is written.
"""

import secrets
import string

from django.db import models

CODE_ALPHABET = string.ascii_letters + string.digits
CODE_LENGTH = 8


def new_public_code() -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


class PublicCodeModel(models.Model):
    """Abstract base for models users see: a unique, generated, read-only `code`."""

    code = models.CharField(
        "code", max_length=CODE_LENGTH, unique=True, editable=False, default=new_public_code
    )

    class Meta:
        abstract = True

    def __str__(self):
        return self.code

    def save(self, *args, **kwargs):
        if self._state.adding:
            manager = type(self)._default_manager
            while manager.filter(code=self.code).exists():
                self.code = new_public_code()
        super().save(*args, **kwargs)
