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
=====================================================  ========================================

:data:`PINNED` are the versions these were checked against; the grader's pyproject.toml and
requirements.txt pin the same ones, and ``tests/test_grader_package.py`` fails loudly, naming
the attribute, when an installed version no longer has one of them in the expected form.
"""

from __future__ import annotations

import inspect

PINNED = {"nbgrader": "0.9.6", "jupyter_client": "8.10.0"}


def launch_cwd(kernel_manager) -> str | None:
    """The ``cwd`` nbclient passed to ``start_kernel`` (None before a start)."""
    return (kernel_manager._launch_args or {}).get("cwd")


def handle_kernel_info_reply(client, reply: dict) -> None:
    """What jupyter_client's own ``wait_for_ready`` does with the kernel_info reply."""
    client._handle_kernel_info_reply(reply)


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
    return found
