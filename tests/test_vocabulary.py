"""Every page and exercise statement uses the glossary's terms (book/glossary.md).

The glossary's table 「用語」 lists, for each term, the variants the course does
not use (column 「使わない表記」, each in 「」). This test finds them in the
prose of the book pages and in the exercise statements (markdown cells of
solutions/, from which exercises/ is generated), and in the Japanese text of
code cells and of the dlcourse helpers (widget labels, plot titles, messages).
Code spans, math and ASCII-only parentheses (an English gloss) are not prose.
"""

import re
from pathlib import Path

import nbformat
import pytest
from harness import BOOK, ROOT, SOLUTIONS

GLOSSARY = BOOK / "glossary.md"
QUOTED = re.compile(r"「([^」]+)」")


def glossary() -> tuple[dict[str, str], list[str]]:
    """(rejected variant -> canonical term, all canonical terms) from the glossary."""
    text = GLOSSARY.read_text(encoding="utf-8")
    table = text.split("## 用語", 1)[1]
    rejected, canonical = {}, []
    for line in table.splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if len(cells) < 4 or cells[0] in ("用語", "") or set(cells[0]) <= {"-"}:
            continue
        canonical.append(cells[0])
        for variant in QUOTED.findall(cells[3]):
            rejected[variant] = cells[0]
    return rejected, canonical


def prose(text: str) -> str:
    """Markdown with code, math, link targets and English-only parentheses blanked out.

    Blanking keeps every character's line, so reported line numbers stay right.
    """

    def blank(match: re.Match) -> str:
        return re.sub(r"[^\n]", " ", match.group(0))

    for pattern in (
        r"```.*?```",
        r"`[^`\n]*`",
        r"\$\$.*?\$\$",
        r"\$[^$\n]*\$",
        r"\]\([^)\n]*\)",
        r"<[^>\n]*>",
        r"[(（][\x20-\x7e]*[)）]",
    ):
        text = re.sub(pattern, blank, text, flags=re.S)
    return text


def japanese_strings(source: str) -> str:
    """The string literals and comments of Python code that contain non-ASCII text."""
    kept = []
    for line in source.splitlines():
        pieces = re.findall(r"\"[^\"]*\"|'[^']*'|#.*$", line)
        kept.append(" ".join(p for p in pieces if re.search(r"[^\x00-\x7f]", p)))
    return "\n".join(kept)


def sources() -> list[Path]:
    """The pages, the exercise sources and the helper modules that readers see text from."""
    pages = [p for p in sorted(BOOK.glob("*.md")) if p != GLOSSARY]
    notebooks = sorted(BOOK.glob("*.ipynb")) + sorted(SOLUTIONS.glob("*/*.ipynb"))
    return pages + notebooks + sorted((ROOT / "dlcourse").glob("*.py"))


def texts(path: Path) -> list[tuple[str, str, bool]]:
    """(where, text, is_prose) for each part of one file."""
    name = str(path.relative_to(ROOT))
    if path.suffix == ".md":
        return [(name, path.read_text(encoding="utf-8"), True)]
    if path.suffix == ".py":
        return [(name, japanese_strings(path.read_text(encoding="utf-8")), False)]
    found = []
    nb = nbformat.read(path, as_version=4)
    for index, cell in enumerate(nb.cells):
        where = f"{name} セル {index}"
        if cell.cell_type == "markdown":
            found.append((where, cell.source, True))
        elif cell.cell_type == "code":
            found.append((where, japanese_strings(cell.source), False))
    return found


def violations(text: str, rejected: dict[str, str], canonical: list[str], is_prose: bool):
    """(line number, variant, canonical) for each rejected variant used in ``text``."""
    if is_prose:
        text = prose(text)
    found = []
    for variant, term in rejected.items():
        ascii_only = variant.isascii()
        if ascii_only and not is_prose:
            continue  # identifiers and code strings may spell English names
        pattern = rf"(?<![\w]){re.escape(variant)}(?![\w])" if ascii_only else re.escape(variant)
        for match in re.finditer(pattern, text):
            start = match.start()
            covered = any(
                variant in c
                and any(
                    text.startswith(c, start - offset)
                    for offset in range(len(c))
                    if c.startswith(variant, offset)
                )
                for c in canonical
                if c != variant
            )
            window = text[max(0, start - 20) : start + 20]
            inside_longer = any(
                len(other) > len(variant) and variant in other and other in window
                for other in rejected
            )
            if not covered and not inside_longer:
                found.append((start, text.count("\n", 0, start) + 1, variant, term))
    return [(line, variant, term) for _, line, variant, term in sorted(found)]


def test_glossary_lists_rejected_variants():
    rejected, canonical = glossary()
    assert len(canonical) >= 40, f"the glossary lists only {len(canonical)} terms"
    assert {"クロスエントロピー", "オートエンコーダ", "最適化器", "種にした記事"} <= set(rejected)
    clash = set(rejected) & set(canonical)
    assert not clash, f"terms both canonical and rejected: {clash}"


def test_variant_finder_respects_longer_canonical_terms():
    rejected, canonical = glossary()
    text = "オートエンコーダーは良いが、オートエンコーダは使わない。`softmax` と softmax。"
    found = violations(text, rejected, canonical, True)
    assert [(v, t) for _, v, t in found] == [
        ("オートエンコーダ", "オートエンコーダー"),
        ("softmax", "ソフトマックス"),
    ]


@pytest.mark.parametrize("path", sources(), ids=lambda p: str(p.relative_to(ROOT)))
def test_pages_use_the_glossary_terms(path):
    rejected, canonical = glossary()
    problems = [
        f"{where} 行 {line}: 「{variant}」ではなく「{term}」と書きます (book/glossary.md)"
        for where, text, is_prose in texts(path)
        for line, variant, term in violations(text, rejected, canonical, is_prose)
    ]
    assert not problems, "\n".join(problems)
