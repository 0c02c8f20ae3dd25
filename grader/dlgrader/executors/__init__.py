"""Executors: where jobs run. Local worker threads, or the workers of a Dask cluster.

Both grade one submission the same way, :func:`dlgrader.executors.pool.grade_one`: a job
folder, a child of one of this process' fork servers, a watchdog. They return
:class:`~dlgrader.records.Result` records and write nothing of the course.
"""
