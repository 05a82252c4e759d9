"""The words generated rows are made of: people's names (Latin, Cyrillic, Japanese), e-mail
addresses and phone numbers, IP addresses, titles of products and media, refund reasons."""

import unicodedata

from buyers.models import phone_key_of

LATIN_FIRST = "Anna Ben Chloé Daniel Emma Felix Grace Hugo Inès Jonas Klara Lucas Maria Noah "
LATIN_FIRST += "Olivia Paul Quentin Rosa Sofia Tomás Ugo Vera William Zoé Ahmed Fatima Lena Marco"
LATIN_LAST = "Smith Müller García Rossi Dubois Novak Jansen Silva Kowalski Nielsen O'Brien "
LATIN_LAST += "Fernández Schmidt Martin Bernard Costa Weber Lindqvist Horvat Moreau Eriksen"
CYRILLIC = [
    ("Иван", "Ivan"),
    ("Ольга", "Olga"),
    ("Дмитрий", "Dmitry"),
    ("Анна", "Anna"),
    ("Сергей", "Sergey"),
    ("Мария", "Maria"),
    ("Алексей", "Alexey"),
    ("Наталья", "Natalya"),
    ("Юлия", "Yulia"),
    ("Павел", "Pavel"),
]
CYRILLIC_LAST = [
    ("Петров", "Petrov"),
    ("Смирнова", "Smirnova"),
    ("Кузнецов", "Kuznetsov"),
    ("Иванова", "Ivanova"),
    ("Соколов", "Sokolov"),
    ("Попова", "Popova"),
    ("Лебедев", "Lebedev"),
    ("Новикова", "Novikova"),
]
JAPANESE = ["Yuki", "Haruto", "Sakura", "Ren", "Aoi", "Sota", "Hina", "Kaito", "Mei", "Riku"]
JAPANESE_LAST = [
    "Tanaka",
    "Suzuki",
    "Takahashi",
    "Watanabe",
    "Ito",
    "Yamamoto",
    "Nakamura",
    "Kobayashi",
]
DOMAINS = ("example.com", "example.org", "example.net", "mail.example.com")
COUNTRY_CODES = ("+7", "+49", "+33", "+81", "+1")
TITLE_WORDS = [
    "Alpine",
    "Night",
    "Ocean",
    "Desert",
    "City",
    "Forest",
    "Winter",
    "Summer",
    "Jazz",
    "Opera",
    "Derby",
    "Final",
    "Cup",
    "Live",
    "Documentary",
    "Cooking",
    "Yoga",
    "Chess",
    "Tango",
    "Street",
    "Story",
    "Masterclass",
    "Concert",
    "Festival",
    "Series",
]
PRODUCT_WORDS = ("Season pass", "Live event", "Course", "Film", "Archive", "Premiere", "Bundle")
REFUND_REASONS = (
    "Playback problem",
    "Bought by mistake",
    "Duplicate purchase",
    "Event cancelled",
    "Goodwill",
)


def person_name(rng) -> tuple[str, str]:
    """A buyer's name (a few give none) and its ASCII spelling for an e-mail address."""
    roll = rng.random()
    if roll < 0.15:
        first, first_latin = rng.choice(CYRILLIC)
        last, last_latin = rng.choice(CYRILLIC_LAST)
    elif roll < 0.25:
        first = first_latin = rng.choice(JAPANESE)
        last = last_latin = rng.choice(JAPANESE_LAST)
    else:
        first = first_latin = rng.choice(LATIN_FIRST.split())
        last = last_latin = rng.choice(LATIN_LAST.split())
    name = "" if rng.random() < 0.03 else f"{first} {last}"
    return name, ascii_only(f"{first_latin}.{last_latin}".lower())


def email_and_phone(
    rng, local_part: str, number: int, taken: set, taken_phones: set
) -> tuple[str, str]:
    """A quarter of buyers give a phone, a few of them only a phone; the others an e-mail
    address (unique: `number` is the buyer's, and `taken` holds the addresses already stored).
    A phone is unique too (the database refuses a second buyer's): `taken_phones` holds the
    phones given so far, by `phone_key_of`."""
    roll = rng.random()
    phone = ""
    if roll < 0.25:
        country = rng.choice(COUNTRY_CODES)
        digits = f"{rng.randint(200, 999)} {rng.randint(100, 999)} {rng.randint(1000, 9999)}"
        phone = f"{country} {digits}"
        while phone_key_of(phone) in taken_phones:
            phone += "0"
        taken_phones.add(phone_key_of(phone))
    email = ""
    if roll >= 0.06 or not phone:
        email = f"{local_part}.{number}@{rng.choice(DOMAINS)}"
        while email.lower() in taken:
            email = "x" + email
    return email, phone


def ip_address(bits: int) -> str:
    return f"{(bits >> 24) % 223 + 1}.{(bits >> 16) & 255}.{(bits >> 8) & 255}.{bits & 255}"


def ascii_only(text: str) -> str:
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().replace("'", "")
