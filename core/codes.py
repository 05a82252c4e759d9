"""Public codes: the short identifiers (like `X150Kl1d`) that users see instead of database ids.

Eight letters and digits from a cryptographic generator: 62**8 (about 2 * 10**14) values, so
codes cannot be guessed or enumerated, and a collision is re-drawn before the row is written.
"""

import secrets
import string

from django.db import models
from django.utils.translation import gettext_lazy as _

CODE_ALPHABET = string.ascii_letters + string.digits
CODE_LENGTH = 8


def new_public_code() -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


# Random bytes become letters through one table: byte b is CODE_ALPHABET[b % 62], and bytes from
# 248 up (past the largest multiple of 62) are dropped, so that every letter is equally likely.
_LETTER_OF_BYTE = bytes(ord(CODE_ALPHABET[b % len(CODE_ALPHABET)]) for b in range(256))
_UNEVEN_BYTES = bytes(range(256 - 256 % len(CODE_ALPHABET), 256))


def new_public_codes(count: int) -> list[str]:
    """`count` codes drawn like `new_public_code`, from one read of the system's randomness (a
    thousand codes one letter at a time cost a renewal batch a tenth of its time)."""
    letters = b""
    while len(letters) < count * CODE_LENGTH:
        wanted = count * CODE_LENGTH - len(letters)
        letters += secrets.token_bytes(wanted + wanted // 16 + 8).translate(
            _LETTER_OF_BYTE, _UNEVEN_BYTES
        )
    text = letters.decode("ascii")
    return [
        text[start : start + CODE_LENGTH] for start in range(0, count * CODE_LENGTH, CODE_LENGTH)
    ]


class PublicCodeModel(models.Model):
    """Abstract base for models users see: a unique, generated, read-only `code`."""

    code = models.CharField(
        _("code"), max_length=CODE_LENGTH, unique=True, editable=False, default=new_public_code
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
