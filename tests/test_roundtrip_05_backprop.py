"""nbgrader round trip of chapter 05_backprop (checks: tests/roundtrip.py)."""

from roundtrip import *  # noqa: F403

CHAPTER = "05_backprop"
