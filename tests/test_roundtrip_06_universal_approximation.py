"""nbgrader round trip of chapter 06_universal_approximation (checks: tests/roundtrip.py)."""

from roundtrip import *  # noqa: F403

CHAPTER = "06_universal_approximation"
