"""Every relative link in README.md and docs/*.md points to a file that exists, and every
`#anchor` into a Markdown page to one of its headings. (External links are not fetched.)"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from docs_console import ROOT

PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md")),
         *sorted((ROOT / "docs").glob("*/*.md"))]
#: Pages other people write; linked from here before they exist is expected for a while.
LINK = re.compile(r"(?<!!)\[[^\]]*\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)|!\[[^\]]*\]\(([^)\s]+)\)")
FENCE = re.compile(r"^(`{3,}|~{3,})")


def _prose(text: str) -> str:
    """The page without its fenced code blocks (links there are code, not links)."""
    kept, fence = [], None
    for line in text.splitlines():
        match = FENCE.match(line.strip())
        if fence is None and match:
            fence = match.group(1)
        elif fence is not None and line.strip().startswith(fence):
            fence = None
        elif fence is None:
            kept.append(re.sub(r"`[^`]*`", "", line))
    return "\n".join(kept)


def anchors(page: Path) -> set[str]:
    """GitHub's anchors for a page's headings."""
    found: set[str] = set()
    for line in _prose(page.read_text("utf-8")).splitlines():
        match = re.match(r"#{1,6}\s+(.*)", line)
        if match:
            found.add(slug(match.group(1)))
    # Headings inside backticks were stripped by _prose; read them raw as well.
    for line in page.read_text("utf-8").splitlines():
        match = re.match(r"#{1,6}\s+(.*)", line)
        if match:
            found.add(slug(match.group(1)))
    return found


def slug(heading: str) -> str:
    text = heading.strip().lower()
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def links() -> list[tuple[str, str]]:
    found = []
    for page in PAGES:
        for match in LINK.finditer(_prose(page.read_text("utf-8"))):
            target = match.group(1) or match.group(2)
            if re.match(r"[a-z][a-z0-9+.-]*:", target):  # http:, https:, mailto:
                continue
            found.append((str(page.relative_to(ROOT)), target))
    return found


@pytest.mark.parametrize(("page", "target"), links())
def test_relative_link_resolves(page: str, target: str) -> None:
    path_part, _, anchor = target.partition("#")
    source = ROOT / page
    destination = (source.parent / path_part).resolve() if path_part else source
    shown = destination.relative_to(ROOT) if destination.is_relative_to(ROOT) else destination
    assert destination.exists(), f"{page}: link to {target}: {shown} does not exist"
    if anchor and destination.suffix == ".md":
        assert anchor in anchors(destination), (
            f"{page}: link to {target}: no heading with the anchor #{anchor} in {shown}")


def test_pages_have_links_at_all() -> None:
    """The checker sees the links (a broken pattern would pass every page vacuously)."""
    assert any(target == "docs/tutorial.md" for page, target in links() if page == "README.md")
