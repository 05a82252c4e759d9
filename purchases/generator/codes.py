"""Public codes (and access hashes, gateway references) for generated rows: unique, seeded."""


class CodeSequence:
    """Unique codes for one table: a seeded prefix and a scrambled row number in base
    len(alphabet); (i * MULT + offset) mod base**width is a bijection, so codes never repeat
    within a run, and codes already in the table are skipped."""

    MULT = 1_000_000_007  # prime, coprime with 62**6 and 32**10
    HEX = "0123456789ABCDEF"

    def __init__(self, rng, model, field_name, alphabet, length, *, prefix_length=2):
        self.alphabet, self.base = alphabet, len(alphabet)
        self.pairs = [a + b for a in alphabet for b in alphabet]  # two digits at a time
        self.pair_base = self.base**2
        self.width = length - prefix_length
        self.modulus = self.base**self.width
        self.offset = rng.randrange(self.modulus)
        manager = model._default_manager
        for _ in range(50):
            prefix = "".join(rng.choice(alphabet) for _ in range(prefix_length))
            taken = manager.filter(**{f"{field_name}__startswith": prefix})
            if taken.count() < 10_000:  # a prefix a previous run used is drawn again
                break
        self.prefix = prefix
        self.taken = set(taken.values_list(field_name, flat=True))
        self.spare = self.modulus // 2  # numbers above this stand in for taken codes
        if alphabet == self.HEX and self.width % 2 == 0:
            self._encode = self._encode_hex

    def _encode_hex(self, number):
        """_encode for hexadecimal codes, a byte (two digits) at a time in C."""
        n = (number * self.MULT + self.offset) % self.modulus
        return self.prefix + n.to_bytes(self.width // 2, "little").hex().upper()

    def _encode(self, number):
        n = (number * self.MULT + self.offset) % self.modulus
        text, pairs, size = self.prefix, self.pairs, self.pair_base
        for _ in range(self.width // 2):
            n, r = divmod(n, size)
            text += pairs[r]
        if self.width % 2:
            text += self.alphabet[n]
        return text

    def __call__(self, number):
        code = self._encode(number)
        while code in self.taken:
            code = self._encode(self.spare)
            self.spare += 1
        return code
