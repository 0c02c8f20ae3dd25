"""nbgrader's own ``Autograde`` converter, configured for one job in its course copy.

:class:`IsolatedAutograde` changes only what a hostile submission could abuse: it never
writes through a link that student code planted in the autograded folder, it removes
such links before nbgrader sets permissions, and one notebook that fails to grade does not
stop the others. It records how each notebook went in :attr:`IsolatedAutograde.outcomes`.
:func:`configure` swaps in the sandboxed kernel manager and the guarded executor through
nbgrader's public configuration, so a well-behaved submission runs exactly as under
``nbgrader autograde``.
"""

from __future__ import annotations

import os
import traceback
from pathlib import Path

from nbgrader.converters import Autograde
from nbgrader.preprocessors import Execute
from traitlets.config import Config

from dlgrader.plugins.execute import GuardedExecute
from dlgrader.plugins.kernel_manager import SandboxKernelManager
from dlgrader.records import Job, NotebookResult


class IsolatedAutograde(Autograde):
    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.outcomes: dict[str, NotebookResult] = {}

    def _destination(self, assignment: str, student: str) -> Path:
        coursedir = self.coursedir
        return Path(coursedir.format_path(coursedir.autograded_directory, student, assignment))

    def write_single_notebook(self, output, resources):
        info = resources["nbgrader"]
        dest = self._destination(info["assignment"], info["student"])
        target = dest / (resources["unique_key"] + self.exporter.file_extension)
        if target.is_symlink() or (target.exists() and not target.is_file()):
            target.unlink()  # planted by student code: never write through it
        # nbgrader writes each notebook twice: sanitized, then graded. Only the graded pass
        # ran the guarded executor, whose report is in the resources.
        report = resources.get("dlgrader")
        if report is not None:
            self.outcomes[resources["unique_key"]] = NotebookResult(
                state="graded", problems=report["problems"], timings=report["timings"]
            )
        super().write_single_notebook(output, resources)

    def convert_single_notebook(self, notebook_filename):
        name = Path(notebook_filename).stem
        try:
            super().convert_single_notebook(notebook_filename)
        except Exception as exc:  # noqa: BLE001 - one broken notebook must not stop others
            self.log.error("grading %s failed:\n%s", name, traceback.format_exc())
            self.outcomes[name] = NotebookResult(
                state="error",
                reason=f"採点中にエラーが起きました ({exc.__class__.__name__}: {str(exc)[:200]})",
            )
            dest = self._destination(self.coursedir.assignment_id, self.coursedir.student_id)
            stale = dest / f"{name}.ipynb"
            if stale.is_symlink() or stale.exists():
                stale.unlink()

    def set_permissions(self, assignment_id, student_id):
        dest = self._destination(assignment_id, student_id)
        for dirpath, dirnames, filenames in os.walk(dest):
            for name in dirnames + filenames:
                path = Path(dirpath) / name
                if path.is_symlink() or not (path.is_file() or path.is_dir()):
                    path.unlink()
        super().set_permissions(assignment_id, student_id)


def configure(app, job: Job, jobdir: Path, course: Path, protected: list[str]) -> None:
    """Point ``app`` (an initialised AutogradeApp) at the job's course copy and sandbox."""
    limits = job.limits
    cfg = Config()
    cfg.CourseDirectory.root = str(course)
    cfg.CourseDirectory.db_url = f"sqlite:///{jobdir / 'db' / 'gradebook.db'}"
    cfg.CourseDirectory.assignment_id = job.assignment
    cfg.CourseDirectory.student_id = job.student
    cfg.CourseDirectory.notebook_id = "*"
    cfg.Execute.timeout = limits.timeout_seconds
    cfg.Execute.kernel_manager_class = SandboxKernelManager
    cfg.SandboxKernelManager.work_dir = str(jobdir / "k")
    cfg.SandboxKernelManager.protected = protected
    cfg.SandboxKernelManager.limits = limits.to_dict()
    # The kernel drops output past the cap itself; this second, looser cap catches what
    # bypasses sys.stdout (file-descriptor writes, rich displays).
    cfg.GuardedExecute.max_cell_output = 2 * limits.max_cell_output_bytes
    cfg.GuardedExecute.cpu_limit = float(limits.cpu_seconds)
    configured = app.config.Autograde.get(
        "autograde_preprocessors", Autograde.autograde_preprocessors.default()
    )
    cfg.Autograde.autograde_preprocessors = [
        GuardedExecute
        if pp is Execute or pp in ("Execute", "nbgrader.preprocessors.Execute")
        else pp
        for pp in configured
    ]
    app.update_config(cfg)
