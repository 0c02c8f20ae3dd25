"""grading/<assignment>/journal.jsonl: the append-only record that makes a re-run resume."""

from __future__ import annotations

import json
import os
from pathlib import Path


class Journal:
    """Append-only record of graded submissions: what makes a re-run resume."""

    def __init__(self, folder: Path) -> None:
        self.path = folder / "journal.jsonl"

    def entries(self) -> dict[str, dict]:
        latest = {}
        if self.path.exists():
            for line in self.path.read_text(encoding="utf-8").splitlines():
                try:
                    entry = json.loads(line)
                except ValueError:
                    continue  # a line cut by a crash
                latest[entry["student"]] = entry
        return latest

    def append(self, entry: dict) -> None:
        with open(self.path, "a", encoding="utf-8") as handle:
            handle.write(json.dumps(entry, ensure_ascii=False) + "\n")
            handle.flush()
            os.fsync(handle.fileno())
