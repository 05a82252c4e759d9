"""The header's search box: one field that finds a buyer, an access, a subscription, a purchase or
a contract, by whatever staff have at hand (a code, an e-mail, a phone, a name, a gateway
reference).

`core` knows no app: each app registers what it can find, from its AppConfig.ready(), in FINDERS
(an explicit registry, filled in one place per app). A finder reuses its list page's search
condition (core.search.search_matches), so the search reads the same indexes as the lists.
"""

from collections.abc import Callable, Sequence
from dataclasses import dataclass

# Matches shown per kind on the results page; the kind's list page shows the rest.
SHOWN_PER_KIND = 10
# The shortest part of a value a "contains" search looks for in a big table: trigram indexes
# need 3 characters, and a shorter part would read every row of a million.
SHORTEST_PART = 3


@dataclass(frozen=True)
class Found:
    """One match: what it is, a detail that tells it apart, and its page."""

    label: str
    detail: str
    url: str


@dataclass(frozen=True)
class Finder:
    title: str  # the kind, plural: "Buyers"
    permission: str  # "app_label.codename" the kind's pages need
    # (text, limit) -> at most `limit` matches of `text`, in any order.
    find: Callable[[str, int], Sequence[Found]]
    list_url_name: str = ""  # the list page that searches the same way, for "all matches"


FINDERS: dict[str, Finder] = {}


def register_finder(name: str, finder: Finder) -> None:
    """Add a kind to the header search (from an AppConfig.ready())."""
    if name in FINDERS and FINDERS[name] != finder:
        raise ValueError(f"A finder named {name!r} is already registered")
    FINDERS[name] = finder


@dataclass(frozen=True)
class Matches:
    finder: Finder
    found: list[Found]
    more: bool  # more matches than shown


def search_everything(user, text: str) -> list[Matches]:
    """The kinds `user` may see that match `text`, each with its first matches."""
    results = []
    for finder in FINDERS.values():
        if not user.has_perm(finder.permission):
            continue
        found = list(finder.find(text, SHOWN_PER_KIND + 1))
        if found:
            results.append(
                Matches(
                    finder=finder,
                    found=sorted(found[:SHOWN_PER_KIND], key=lambda item: item.label.lower()),
                    more=len(found) > SHOWN_PER_KIND,
                )
            )
    return results


def only_match(results: list[Matches]) -> Found | None:
    """The one thing found, when exactly one matched across every kind."""
    if len(results) == 1 and len(results[0].found) == 1 and not results[0].more:
        return results[0].found[0]
    return None
