"""nbgrader round trip of chapter 01_tensors (checks: tests/roundtrip.py)."""

from roundtrip import *  # noqa: F403

CHAPTER = "01_tensors"
