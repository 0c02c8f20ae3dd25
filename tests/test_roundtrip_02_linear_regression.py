"""nbgrader round trip of chapter 02_linear_regression (checks: tests/roundtrip.py)."""

from roundtrip import *  # noqa: F403

CHAPTER = "02_linear_regression"
