"""Test distribution for pytest-xdist (`make test` runs `-n 2 --dist loadgroup`).

nbval items of one notebook must run in one kernel, so every item is grouped
by its file; the nbgrader round trip, the slowest file, is grouped by chapter
instead so that the two workers share it.
"""

import re

import pytest


def pytest_collection_modifyitems(items):
    for item in items:
        group = str(item.path)
        if item.path.name == "test_nbgrader_roundtrip.py":
            match = re.search(r"\[(\d\d_\w+)\]", item.name)
            group = f"roundtrip-{match.group(1)}" if match else group
        item.add_marker(pytest.mark.xdist_group(group))
