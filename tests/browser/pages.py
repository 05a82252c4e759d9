"""The pages a signed-in user reaches from the navigation, found by following links as a person
would, and the checks run on each: nothing wider than the screen, no axe-core violation."""

import re
from collections import Counter
from pathlib import Path
from urllib.parse import urlsplit

from core.navigation import navigation_for

AXE_SCRIPT = Path(__file__).with_name("vendor") / "axe-core-4.14.1" / "axe.min.js"

# Links that leave the staff pages, download, or only re-sort or re-page a list.
SKIPPED = re.compile(r"^/(admin|api|static|accounts/logout)/|[?&](export|sort|page|after|before)=")
# A segment with a capital or a digit is a code (public codes, coupon codes), not a word of our
# URLs ("accesses", "sessions"): pages differing only by codes are one kind of page.
CODE_SEGMENT = re.compile(r"/(?=[^/]*[A-Z0-9])[A-Za-z0-9_-]+(?=/)")


def page_kind(path: str) -> str:
    return CODE_SEGMENT.sub("/<code>", path)


def links_in_main(page) -> list[str]:
    return page.eval_on_selector_all(
        "main a[href]", "links => links.map(link => link.getAttribute('href'))"
    )


def reachable_pages(page, base_url: str, user, *, depth: int = 2, per_kind: int = 4):
    """Paths of every kind of page within `depth` clicks of the navigation (up to `per_kind`
    paths of each kind: the same page about different rows differs in what it holds),
    visiting each with `page` and yielding it while the page is shown."""
    start = [
        link["url"]
        for area in navigation_for(user)
        for link in area["links"]
        if not SKIPPED.search(link["url"])
    ]
    visited, per_kind_count = set(), Counter()
    frontier = start
    for level in range(depth + 1):
        following = []
        for path in frontier:
            kind = page_kind(path)
            if path in visited or per_kind_count[kind] >= per_kind:
                continue
            visited.add(path)
            per_kind_count[kind] += 1
            response = page.goto(base_url + path)
            assert response.status == 200, f"{path} answered {response.status}"
            yield path
            if level < depth:
                for href in links_in_main(page):
                    parts = urlsplit(href)
                    if parts.netloc or not parts.path.startswith("/") or SKIPPED.search(href):
                        continue
                    following.append(parts.path)
        frontier = following


def overflow(page, width: int) -> dict | None:
    """How far the page is wider than a screen `width` px wide, and what sticks out; None when
    it fits. (A phone's browser widens its layout to the content, so the screen's width is
    given, not read from the page.)"""
    return page.evaluate(
        """(width) => {
          const scroll = Math.max(document.documentElement.scrollWidth, document.body.scrollWidth);
          if (scroll <= width) return null;
          const sticking = [...document.querySelectorAll('body *')]
            .filter(e => e.getBoundingClientRect().right > width + 1)
            .slice(-5)
            .map(e => `${e.tagName.toLowerCase()}.${[...e.classList].join('.')}`);
          return {width, scroll, sticking};
        }""",
        width,
    )


def axe_violations(page) -> list[dict]:
    """axe-core's violations on the shown page (WCAG 2.1 A and AA, and best practices)."""
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        # Evaluated through the browser's DevTools protocol: the page's CSP (no inline script)
        # stays as it is.
        page.evaluate(AXE_SCRIPT.read_text() + "\n;true")
    result = page.evaluate(
        """async () => {
          const results = await axe.run(document, {resultTypes: ['violations']});
          return results.violations.map(v => ({
            id: v.id, impact: v.impact, help: v.help,
            targets: v.nodes.slice(0, 3).map(n => n.target.join(' ')),
          }));
        }"""
    )
    return result
