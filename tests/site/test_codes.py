import re

from core.codes import CODE_LENGTH, new_public_code


def test_codes_are_eight_letters_or_digits_and_do_not_repeat():
    codes = {new_public_code() for _ in range(10_000)}
    assert len(codes) == 10_000
    assert all(re.fullmatch(rf"[A-Za-z0-9]{{{CODE_LENGTH}}}", code) for code in codes)
