"""nbgrader round trip of chapter 07_spiral_classification (checks: tests/roundtrip.py)."""

from roundtrip import *  # noqa: F403

CHAPTER = "07_spiral_classification"
