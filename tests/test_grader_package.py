"""The teaching package and the grader are two distributions; the grader's seams hold.

- Importing every teaching module loads nothing of the grader, nbgrader, jupyter_client or
  Dask (students install only ``dlcourse``; Colab's first cell installs it from the root).
- The teaching distribution declares no grader dependency and no grader command; its
  ``dlcourse grade`` says which command to use instead.
- The private APIs the grader relies on are still there in the installed versions, and the
  versions pinned in grader/pyproject.toml and requirements.txt agree.
- The coordinator's gradebooks share one engine per database while merging (statements
  compiled once), each still reading what the previous one committed.
- The records that cross process boundaries survive their one serialisation unchanged.
- The import contracts (layers by process, teaching never imports grader) are kept.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import tomllib

from dlcourse.cli import main as dlcourse_main
from dlgrader.plugins import private_api
from dlgrader.records import Job, Limits, NotebookResult, Result

ROOT = Path(__file__).resolve().parent.parent
GRADER_ONLY = ("dlgrader", "nbgrader", "jupyter_client", "distributed")

IMPORT_ALL = """
import importlib, pkgutil, sys
import dlcourse
names = [m.name for m in pkgutil.walk_packages(dlcourse.__path__, "dlcourse.")]
for name in names:
    importlib.import_module(name)
loaded = sorted({m.split(".")[0] for m in sys.modules} & set(sys.argv[1:]))
print(len(names), " ".join(loaded))
"""


def test_importing_every_teaching_module_loads_no_grader_module():
    done = subprocess.run(
        [sys.executable, "-c", IMPORT_ALL, *GRADER_ONLY],
        capture_output=True,
        text=True,
        check=True,
    )
    count, *loaded = done.stdout.split()
    assert int(count) >= 14, done.stdout  # every chapter module, testing, widgets, check, cli
    assert loaded == [], f"importing dlcourse loaded {loaded}"


def test_teaching_distribution_has_no_grader_dependency_or_command():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    names = [re.split(r"[<>=\[ ;@]", dep)[0].lower() for dep in project["dependencies"]]
    for grader_dependency in ("nbgrader", "distributed", "dask", "psycopg", "dlcourse-grader"):
        assert grader_dependency not in names
    assert "optional-dependencies" not in project
    assert project["scripts"] == {"dlcourse": "dlcourse.cli:main"}
    assert not (ROOT / "dlcourse" / "grading").exists()


def test_grader_distribution_has_its_command_and_needs_nbgrader():
    project = tomllib.loads((ROOT / "grader" / "pyproject.toml").read_text(encoding="utf-8"))
    project = project["project"]
    assert project["scripts"] == {"dlgrader": "dlgrader.cli:main"}
    assert any(dep.startswith("nbgrader") for dep in project["dependencies"])


def test_dlcourse_grade_points_to_the_grader(capsys):
    assert dlcourse_main(["grade", "01_tensors"]) == 2
    err = capsys.readouterr().err
    assert "dlgrader grade" in err and "講師用" in err


def _pins(lines: list[str]) -> dict[str, str]:
    pins = {}
    for line in lines:
        match = re.match(r"^\s*\"?([A-Za-z0-9_.-]+)(?:\[[^\]]*\])?==([^\s\";]+)", line)
        if match:
            pins[match.group(1).lower().replace("_", "-")] = match.group(2)
    return pins


def test_pinned_versions_agree_between_grader_and_requirements():
    grader = tomllib.loads((ROOT / "grader" / "pyproject.toml").read_text(encoding="utf-8"))
    declared = _pins(grader["project"]["dependencies"])
    required = _pins((ROOT / "requirements.txt").read_text(encoding="utf-8").splitlines())
    for package, version in private_api.PINNED.items():
        key = package.replace("_", "-")
        assert declared.get(key) == version, f"grader/pyproject.toml pins {key} differently"
        assert required.get(key) == version, f"requirements.txt pins {key} differently"


def test_private_apis_are_where_the_grader_expects_them():
    assert private_api.problems() == []


def test_merges_share_one_engine_per_database_and_see_each_others_commits(tmp_path):
    import nbgrader.api
    from nbgrader.api import Gradebook

    from dlgrader.coordinator.course import ensure_tools_on_path

    ensure_tools_on_path()  # a new gradebook runs alembic
    url = f"sqlite:///{tmp_path / 'gradebook.db'}"
    original = nbgrader.api.create_engine
    with private_api.one_engine_per_database():
        with Gradebook(url) as first:
            first.add_student("s1")
            engine = first.engine
        with Gradebook(url) as second:
            assert second.engine is engine  # the compiled statements are kept
            assert [s.id for s in second.students] == ["s1"]  # a fresh session reads commits
            second.add_student("s2")
        with Gradebook(f"sqlite:///{tmp_path / 'other.db'}") as other:
            assert other.engine is not engine  # one engine per database, not one for all
    assert nbgrader.api.create_engine is original
    with Gradebook(url) as after:
        assert after.engine is not engine
        assert sorted(s.id for s in after.students) == ["s1", "s2"]


def test_records_survive_their_serialisation():
    limits = Limits(timeout_seconds=7, memory_mb=512, max_cell_output_bytes=1000)
    assert limits.cpu_seconds == 70  # the default: 10 x the per-cell timeout
    assert Limits.from_dict(limits.to_dict()) == limits
    job = Job("a", "s", "c", ["nb"], {"source": "src", "submitted": "sub"}, limits, "INFO")
    assert Job.from_json(job.to_json()) == job
    result = Result(
        student="s",
        notebooks={"nb": NotebookResult(state="graded", problems=["p"], timings={"c": [1.0]})},
        notes=["n"],
        phases={"setup": 0.5},
        files={"nb.ipynb": b"{}"},
    )
    back = Result.from_json(result.to_json())
    assert back.files == {}  # the files travel in JOB/out, not in result.json
    back.files = result.files
    assert back == result
    failed = Result.failed("s", ["nb", "nb2"], "理由", "log")
    assert [n.state for n in failed.notebooks.values()] == ["error", "error"]
    assert failed.error == "理由\nlog"


def test_import_contracts_are_kept():
    done = subprocess.run(
        [str(Path(sys.executable).parent / "lint-imports"), "--no-cache"],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stdout[-3000:]
    assert "4 kept, 0 broken" in done.stdout, done.stdout[-3000:]


def test_notebooks_install_only_the_teaching_package():
    """Colab's first cell and Binder's postBuild install dlcourse from the root, never the
    grader (it would pull nbgrader onto students' machines)."""
    installs = []
    for path in sorted((ROOT / "book").glob("*.ipynb")) + sorted(ROOT.glob("exercises/*/*.ipynb")):
        text = path.read_text(encoding="utf-8")
        installs += [(path.name, line) for line in text.split("\\n") if "pip install" in line]
    installs.append(("postBuild", (ROOT / "binder" / "postBuild").read_text(encoding="utf-8")))
    assert len(installs) >= 17, installs  # 8 chapters, 8 exercises, Binder
    for name, line in installs:
        assert "grader" not in line, f"{name} installs the grader: {line}"
