"""The cluster executor (``--scheduler``): one Dask task per submission.

The bundle is scattered once to every worker; each task runs
:func:`dlgrader.executors.pool.grade_one` on its worker, with that worker's own fork
servers, and returns the Result record.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

from dlgrader.executors import pool
from dlgrader.records import Bundle, Result, Submission


def grade_on_cluster(
    bundle: Bundle, submissions: list[Submission], scheduler: str
) -> Iterator[Result]:
    from distributed import Client, as_completed

    client = Client(scheduler, timeout="30s")
    try:
        shared = client.scatter(bundle, broadcast=True)
        token = uuid.uuid4().hex[:8]
        students = {}
        futures = []
        for sub in submissions:
            future = client.submit(
                pool.grade_one,
                shared,
                sub,
                key=f"dlgrader-grade-{bundle.assignment}-{sub.student}-{token}",
                pure=False,
                retries=1,
            )
            students[future.key] = sub.student
            futures.append(future)
        for future in as_completed(futures):
            try:
                yield future.result()
            except Exception as exc:  # noqa: BLE001 - a lost worker, not a lost run
                reason = f"Dask での採点に失敗: {exc}"
                yield Result.failed(students[future.key], bundle.notebooks, reason)
    finally:
        client.close()
