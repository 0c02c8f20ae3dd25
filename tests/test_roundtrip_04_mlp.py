"""nbgrader round trip of chapter 04_mlp (checks: tests/roundtrip.py)."""

from roundtrip import *  # noqa: F403

CHAPTER = "04_mlp"
