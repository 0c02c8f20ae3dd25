"""The README's first instructor run works verbatim on a fresh clone, and leaves git clean.

The block between ``<!-- instructor-first-run -->`` markers in README.md is run line by
line in a ``git clone`` of this repository (``make venv`` is replaced by a link to this
checkout's .venv: a second editable install would repoint it). Every command must
succeed; the closing ``git status --short`` must print nothing, i.e. the ignore rules
cover every path that nbgrader and dlcourse wrote. The feedback must not show the
grading machine's paths, and generate_feedback must not warn about its configuration.
"""

import os
import re
import subprocess

from harness import ROOT, env_with_venv

README = ROOT / "README.md"


def first_run_block() -> list[str]:
    text = README.read_text(encoding="utf-8")
    block = re.search(
        r"<!-- instructor-first-run -->\s*```bash\n(.*?)```\s*<!-- /instructor-first-run -->",
        text,
        re.S,
    )
    assert block, "README.md has no instructor-first-run block"
    return [line for line in block.group(1).splitlines() if line.strip()]


def test_readme_first_run_on_a_fresh_clone(tmp_path):
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", str(ROOT), str(clone)], check=True)
    os.symlink(ROOT / ".venv", clone / ".venv")
    env = env_with_venv()
    outputs = {}
    lines = first_run_block()
    assert lines[0] == "make venv" and lines[-1] == "git status --short"
    script = "set -e\n" + "\n".join(
        f"echo '>>> {line}'\n{line}" for line in lines if line != "make venv"
    )
    done = subprocess.run(
        ["bash", "-c", script], cwd=clone, env=env, capture_output=True, text=True, timeout=900
    )
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-4000:]
    for chunk in done.stdout.split(">>> ")[1:]:
        command, _, output = chunk.partition("\n")
        outputs[command] = output
    assert outputs["git status --short"].strip() == "", outputs["git status --short"]
    assert "Skipping existing assignment" not in done.stderr
    assert "not recognized" not in done.stderr, done.stderr[-3000:]
    feedback = (clone / "feedback" / "student1" / "01_tensors" / "01_tensors.html").read_text(
        encoding="utf-8"
    )
    for machine_path in (str(ROOT), str(clone), "/site-packages/", "/tmp/"):
        assert machine_path not in feedback, f"feedback shows the path {machine_path}"
    assert (clone / "grading" / "01_tensors" / "grades.csv").exists()
