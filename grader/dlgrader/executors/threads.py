"""The local executor: ``--workers`` threads, sharing the fork server of this process."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor, as_completed

from dlgrader.executors import pool
from dlgrader.records import Bundle, Result, Submission


def _tracked(bundle: Bundle, sub: Submission, in_flight) -> Result:
    in_flight.start(sub.student)
    try:
        return pool.grade_one(bundle, sub)
    finally:
        in_flight.finish(sub.student)


def grade_in_threads(
    bundle: Bundle, submissions: list[Submission], workers: int, in_flight
) -> Iterator[Result]:
    """Results in the order they finish; ``in_flight`` hears of every start and end."""
    pool.warm_up()
    try:
        with ThreadPoolExecutor(max_workers=workers) as threads:
            futures = {threads.submit(_tracked, bundle, sub, in_flight): sub for sub in submissions}
            try:
                for future in as_completed(futures):
                    student = futures[future].student
                    try:
                        yield future.result()
                    except Exception as exc:  # noqa: BLE001 - one submission, not the run
                        reason = f"採点に失敗しました: {exc}"
                        yield Result.failed(student, bundle.notebooks, reason)
            except BaseException:
                for future in futures:
                    future.cancel()
                raise
    finally:
        pool.shutdown()
