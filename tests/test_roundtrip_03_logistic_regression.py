"""nbgrader round trip of chapter 03_logistic_regression (checks: tests/roundtrip.py)."""

from roundtrip import *  # noqa: F403

CHAPTER = "03_logistic_regression"
