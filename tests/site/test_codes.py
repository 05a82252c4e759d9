import re

from core.codes import CODE_LENGTH, new_public_code


def test_codes_are_eight_letters_or_digits_and_do_not_repeat():
    codes = {new_public_code() for _ in range(10_000)}
    assert len(codes) == 10_000
    assert all(re.fullmatch(rf"[A-Za-z0-9]{{{CODE_LENGTH}}}", code) for code in codes)


def test_codes_drawn_many_at_once_are_codes_and_every_letter_is_as_likely():
    from collections import Counter

    from core.codes import CODE_ALPHABET, CODE_LENGTH, new_public_codes

    codes = new_public_codes(20_000)
    assert len(codes) == 20_000 and len(set(codes)) == 20_000
    assert all(len(code) == CODE_LENGTH and set(code) <= set(CODE_ALPHABET) for code in codes)
    counts = Counter("".join(codes))
    expected = 20_000 * CODE_LENGTH / len(CODE_ALPHABET)
    assert set(counts) == set(CODE_ALPHABET)
    assert all(abs(n - expected) < expected * 0.1 for n in counts.values())
    assert new_public_codes(0) == []
