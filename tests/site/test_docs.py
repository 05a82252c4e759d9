"""A clone carries its own documentation: no link leads outside the repository."""

import re
from pathlib import Path

import pytest

BASE_DIR = Path(__file__).resolve().parents[2]
DOCUMENTS = [BASE_DIR / "README.md", *sorted((BASE_DIR / "docs").glob("*.md"))]


@pytest.mark.parametrize("document", DOCUMENTS, ids=lambda path: path.name)
def test_documents_name_only_files_the_repository_has(document):
    text = document.read_text()
    assert "../" not in text, "a path outside the repository"
    for path in re.findall(r"`((?:docs|tests|config|core|static)/[\w./-]+\.(?:md|py|txt))`", text):
        assert (BASE_DIR / path).exists(), path
