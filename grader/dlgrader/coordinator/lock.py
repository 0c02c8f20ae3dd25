"""One ``dlgrader grade`` per course at a time: a file lock on grading/.lock."""

from __future__ import annotations

import datetime
import os
from pathlib import Path

from filelock import FileLock, Timeout

from dlgrader.coordinator.course import CourseError


class RunLock:
    """Held for a whole grading run; the holder's pid and start go into grading/.holder."""

    def __init__(self, root: Path, assignment: str) -> None:
        self.path = root / "grading" / ".lock"
        self.holder = root / "grading" / ".holder"
        self.assignment = assignment
        self._lock = FileLock(self.path)

    def acquire(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self._lock.acquire(timeout=0)
        except Timeout:
            try:
                holder = self.holder.read_text(encoding="utf-8").strip() or "不明"
            except OSError:
                holder = "不明"
            raise CourseError(
                "別の dlgrader grade がこのコースで実行中のため、開始しません "
                f"(another grading run holds the lock: {holder})。終わってから再実行してください。"
            ) from None
        started = datetime.datetime.now().isoformat(timespec="seconds")
        self.holder.write_text(f"pid {os.getpid()}, {self.assignment}, {started}\n", "utf-8")

    def release(self) -> None:
        if self._lock.is_locked:
            self.holder.unlink(missing_ok=True)
            self._lock.release()

    def __enter__(self) -> RunLock:
        self.acquire()
        return self

    def __exit__(self, *exc) -> None:
        self.release()
