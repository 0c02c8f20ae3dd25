"""The one place where the grader relies on what nbgrader and jupyter_client do not publish.

Everything else uses public APIs (traits, preprocessor and converter methods, the
``CourseDirectory`` paths). What is left has no public equivalent in the pinned versions:

=====================================================  ========================================
private name                                           why
=====================================================  ========================================
``AsyncKernelManager._launch_args``                    the working folder nbclient asks the
                                                       kernel to start in (the sandbox makes
                                                       it writable); read in ``format_kernel_cmd``
``AsyncKernelManager._async_launch_kernel``            overridden to set the kernel's
                                                       environment and record its pid
``AsyncKernelManager._launch_kernel``                  the same hook under its sync name
``KernelClient._handle_kernel_info_reply``             what jupyter_client does with the reply
                                                       (protocol adaptation); called by the
                                                       grader's own ``wait_for_ready``
``nbgrader.api.create_engine``                         the name ``Gradebook.__init__`` makes
                                                       its SQLAlchemy engine with; replaced
                                                       for the coordinator's merges by
                                                       :func:`one_engine_per_database`
=====================================================  ========================================

:data:`PINNED` are the versions these were checked against; the grader's pyproject.toml and
requirements.txt pin the same ones, and ``tests/test_grader_package.py`` fails loudly, naming
the attribute, when an installed version no longer has one of them in the expected form.
"""

from __future__ import annotations

import contextlib
import inspect
import threading

PINNED = {"nbgrader": "0.9.6", "jupyter_client": "8.10.0"}


def launch_cwd(kernel_manager) -> str | None:
    """The ``cwd`` nbclient passed to ``start_kernel`` (None before a start)."""
    return (kernel_manager._launch_args or {}).get("cwd")


def handle_kernel_info_reply(client, reply: dict) -> None:
    """What jupyter_client's own ``wait_for_ready`` does with the kernel_info reply."""
    client._handle_kernel_info_reply(reply)


@contextlib.contextmanager
def one_engine_per_database():
    """While inside, nbgrader's ``Gradebook`` objects of this process share one engine per URL.

    A merge opens a ``Gradebook`` (a new SQLAlchemy engine) in each of nbgrader's
    preprocessors and each of the coordinator's queries, five or six per submission, and
    every new engine compiles every SQL statement again: about 40 % of the coordinator's
    CPU per merged submission (230-250 ms without, 140-160 ms with the shared engine).
    SQLAlchemy caches compiled statements per engine (keyed by its dialect), so only a
    shared engine keeps them. Sessions stay one per ``Gradebook``: what one commits, the
    next one reads. ``Gradebook.close`` disposes the engine's connection pool, which the
    engine then opens anew; its statement cache survives that. Every engine made here is
    disposed on exit.
    """
    import nbgrader.api

    original = nbgrader.api.create_engine
    engines: dict = {}
    lock = threading.Lock()

    def shared_engine(url, **options):
        key = (str(url), tuple(sorted(options.items())))
        with lock:
            if key not in engines:
                engines[key] = original(url, **options)
            return engines[key]

    nbgrader.api.create_engine = shared_engine
    try:
        yield
    finally:
        nbgrader.api.create_engine = original
        for engine in engines.values():
            engine.dispose()


def problems() -> list[str]:
    """What no longer matches in the installed versions (empty when all is as pinned)."""
    from importlib.metadata import version

    from jupyter_client.client import KernelClient
    from jupyter_client.manager import AsyncKernelManager

    found = []
    for package, pinned in PINNED.items():
        if version(package) != pinned:
            found.append(f"{package} {version(package)} is installed, checked against {pinned}")
    if "_launch_args" not in AsyncKernelManager.class_traits():
        found.append("AsyncKernelManager._launch_args is no longer a trait")
    for name in ("_async_launch_kernel", "_launch_kernel"):
        method = getattr(AsyncKernelManager, name, None)
        if method is None:
            found.append(f"AsyncKernelManager.{name} is gone")
            continue
        params = list(inspect.signature(method).parameters)
        if params[:2] != ["self", "kernel_cmd"]:
            found.append(f"AsyncKernelManager.{name} takes {params}, not (self, kernel_cmd, **kw)")
    handler = getattr(KernelClient, "_handle_kernel_info_reply", None)
    if handler is None or list(inspect.signature(handler).parameters) != ["self", "msg"]:
        found.append("KernelClient._handle_kernel_info_reply(self, msg) is gone")
    import nbgrader.api

    if not callable(getattr(nbgrader.api, "create_engine", None)):
        found.append("nbgrader.api.create_engine is gone")
    elif "create_engine(" not in inspect.getsource(nbgrader.api.Gradebook.__init__):
        found.append("Gradebook.__init__ no longer makes its engine with create_engine(...)")
    return found
