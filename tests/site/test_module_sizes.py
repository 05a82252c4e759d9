"""No module of ours outside migrations and tests grows past 1,000 lines: past ~600 one becomes a
package of modules named after their jobs (CONVENTIONS.md, "When a module grows")."""

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("config", "api", "purchases", "buyers", "subscriptions", "core")
MAX_LINES = 1000


def test_no_module_is_longer_than_a_thousand_lines():
    too_long = {
        str(path.relative_to(ROOT)): lines
        for package in PACKAGES
        for path in (ROOT / package).rglob("*.py")
        if "migrations" not in path.parts
        and (lines := len(path.read_text().splitlines())) > MAX_LINES
    }
    assert too_long == {}
