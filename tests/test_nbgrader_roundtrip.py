"""Every chapter has its nbgrader round-trip module (tests/roundtrip.py has the checks)."""

from harness import CHAPTERS, ROOT


def test_every_chapter_has_a_roundtrip_module():
    for chapter in CHAPTERS:
        module = ROOT / "tests" / f"test_roundtrip_{chapter}.py"
        assert module.exists(), f"{module.name} is missing: copy another chapter's module"
        assert f'CHAPTER = "{chapter}"' in module.read_text(encoding="utf-8"), module.name
