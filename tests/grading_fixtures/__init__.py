"""Fixtures of the grading tests (tests/test_grading_*.py)."""
