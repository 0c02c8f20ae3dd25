"""Make a submitted notebook gradable before nbgrader sees it, and say what was wrong.

Everything here is a no-op for a well-formed submission (the file is left byte for byte
as it was), so such a submission is graded exactly as ``nbgrader autograde`` grades it.
For a broken one it decides, without running any student code:

* an empty file, invalid JSON, or JSON that is no notebook: not gradable (0 points);
* nbformat 3: converted to nbformat 4 and graded;
* a test cell that was deleted (or lost its nbgrader metadata): put back from the
  released notebook at its original place, so nbgrader fills in the full test from the
  gradebook (plain nbgrader drops those points silently);
* a test cell whose source or nbgrader metadata was edited: the metadata is reset to the
  released one, and nbgrader restores the source from the gradebook;
* the only notebook of a submission under a wrong name: graded under the expected name.
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

NBGRADER_KEYS = ("grade", "solution", "locked", "points", "grade_id", "task", "schema_version")


@dataclass
class Repair:
    """The outcome of preparing one notebook: gradable or not, and the notes."""

    gradable: bool
    notes: list[str] = field(default_factory=list)
    reason: str | None = None  # why it is not gradable


def _grade_id(cell) -> str | None:
    return cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")


def _is_test_cell(cell) -> bool:
    meta = cell.get("metadata", {}).get("nbgrader", {})
    return bool(meta.get("grade")) and not meta.get("solution") and cell.get("cell_type") == "code"


def read_notebook(path: Path) -> tuple[nbformat.NotebookNode | None, int | None, str | None]:
    """(notebook as v4, original major version, reason when unreadable)."""
    raw = path.read_bytes()
    if not raw.strip():
        return None, None, "空のファイルです (empty file)"
    try:
        data = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        return None, None, f"JSON として読めません (invalid JSON: {str(exc)[:80]})"
    if not isinstance(data, dict) or not isinstance(data.get("nbformat"), int):
        return None, None, "Jupyter ノートブックではありません (no nbformat field)"
    version = data["nbformat"]
    if version not in (3, 4):
        return None, version, f"対応していない nbformat {version} です"
    try:
        nb = nbformat.reads(raw.decode("utf-8"), as_version=4)
    except Exception as exc:  # noqa: BLE001 - nbformat raises many kinds
        return None, version, f"ノートブックとして読めません ({exc.__class__.__name__})"
    return nb, version, None


def restore_test_cells(nb, release) -> tuple[list[str], list[str], list[str]]:
    """Put back deleted test cells and reset edited nbgrader metadata, in place.

    Returns the grade ids of test cells (restored, with metadata reset, with source edited).
    nbgrader itself puts back the source of an edited test cell from the gradebook.
    """
    present = {}
    by_id = {}
    for cell in nb.cells:
        gid = _grade_id(cell)
        if gid is not None and gid not in present:
            present[gid] = cell
        if cell.get("id") and cell.get("id") not in by_id:
            by_id[cell["id"]] = cell
    restored, reset, edited = [], [], []
    # The cell after which the next missing cell goes: the submission's copy of the
    # release cell just before it (matched by grade_id, or by cell id for the cells
    # nbgrader does not track, such as a free check cell between answer and test).
    anchor = None
    for ref in release.cells:
        gid = _grade_id(ref)
        if gid is None:
            match = by_id.get(ref.get("id")) if ref.get("id") else None
            if match is not None and _grade_id(match) is None:
                anchor = match
            continue
        cell = present.get(gid)
        if cell is not None:
            anchor = cell
            if _is_test_cell(ref):
                ref_meta = ref.metadata["nbgrader"]
                meta = cell.metadata.get("nbgrader", {})
                changed = cell.cell_type != ref.cell_type or any(
                    meta.get(key) != ref_meta.get(key) for key in NBGRADER_KEYS
                )
                if changed:
                    cell.metadata["nbgrader"] = copy.deepcopy(ref_meta)
                    if cell.cell_type != "code":
                        new = nbformat.v4.new_code_cell(cell.source, metadata=cell.metadata)
                        if "id" in cell:
                            new["id"] = cell["id"]
                        nb.cells[nb.cells.index(cell)] = new
                        present[gid] = anchor = new
                    reset.append(gid)
                elif cell.source != ref.source:
                    edited.append(gid)
            continue
        if not _is_test_cell(ref):
            continue
        new = copy.deepcopy(ref)
        new.outputs = []
        new.execution_count = None
        position = nb.cells.index(anchor) + 1 if anchor is not None else 0
        nb.cells.insert(position, new)
        anchor = new
        restored.append(gid)
    return restored, reset, edited


def prepare(path: Path, release_path: Path) -> Repair:
    """Check and, where needed, rewrite the notebook at ``path`` (see the module doc)."""
    nb, version, reason = read_notebook(path)
    if nb is None:
        return Repair(False, reason=reason)
    notes = []
    changed = False
    if version == 3:
        notes.append("nbformat 3 のノートブックを nbformat 4 に変換しました")
        changed = True
    release = nbformat.read(release_path, as_version=4)
    restored, reset, edited = restore_test_cells(nb, release)
    if restored:
        notes.append("削除されたテストセルを復元しました: " + ", ".join(restored))
        changed = True
    if reset or edited:
        notes.append("書き換えられたテストセルを元に戻しました: " + ", ".join(reset + edited))
        changed = changed or bool(reset)
    if changed:
        # Cell ids are not part of nbformat 4.0-4.4; a converted notebook gets fresh ones.
        nbformat.write(nb, path)
    return Repair(True, notes=notes)
