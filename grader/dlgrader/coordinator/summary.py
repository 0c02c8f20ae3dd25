"""What ``dlgrader grade`` prints and writes at the end: the summary, grades.csv, repairs.csv."""

from __future__ import annotations

import csv
import os
import statistics
import sys
from dataclasses import dataclass
from pathlib import Path

from dlgrader.records import TAMPER_LABEL


@dataclass
class Summary:
    assignment: str
    entries: dict[str, dict]  # student -> journal entry, with the gradebook's scores now
    graded_now: int
    csv_path: Path

    @property
    def problems(self) -> dict[str, dict]:
        return {s: e for s, e in self.entries.items() if e["reasons"]}


def _write_rows(path: Path, header: list[str], rows) -> Path:
    tmp = path.with_suffix(".tmp")
    with open(tmp, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
    os.replace(tmp, path)
    return path


def write_csv(path: Path, entries: dict[str, dict]) -> Path:
    """grading/<a>/grades.csv: one row per student."""
    header = [
        "student_id",
        "score",
        "max_score",
        "late_penalty",
        "needs_manual_grade",
        "notebooks",
        "reasons",
        "repairs",
    ]
    rows = (
        [
            student,
            f"{entry['score']:g}",
            f"{entry['max_score']:g}",
            f"{entry['penalty']:g}",
            entry["needs_manual_grade"],
            " ".join(f"{k}:{v}" for k, v in entry["notebooks"].items()),
            " | ".join(entry["reasons"]),
            " | ".join(entry.get("repairs", [])),
        ]
        for student, entry in entries.items()
    )
    return _write_rows(path, header, rows)


def write_repairs(path: Path, entries: dict[str, dict]) -> Path:
    """grading/<a>/repairs.csv: what was put right before grading, one row per repair."""
    rows = (
        [student, repair]
        for student, entry in entries.items()
        for repair in entry.get("repairs", [])
    )
    return _write_rows(path, ["student_id", "repair"], rows)


def _tampering(entries: dict[str, dict]) -> int:
    """Submissions with a reason from the kernel's test guard or the static scan."""
    return sum(any(TAMPER_LABEL in r for r in e["reasons"]) for e in entries.values())


def print_summary(summary: Summary, out=sys.stdout) -> None:
    from rich.console import Console
    from rich.table import Table

    # markup off: reasons quote student code, whose brackets are not rich markup
    console = Console(file=out, width=160, markup=False, emoji=False, highlight=False)
    entries = summary.entries
    console.print(f"\n== 採点結果: {summary.assignment} ==")
    if not entries:
        console.print("提出がありません (no submissions)")
        return
    scores = [e["score"] - e["penalty"] for e in entries.values()]
    top = max(e["max_score"] for e in entries.values())
    manual = sum(1 for e in entries.values() if e["needs_manual_grade"])
    repaired = sum(bool(e.get("repairs")) for e in entries.values())
    overview = Table(box=None, show_header=False, padding=(0, 2))
    for label, value in [
        ("採点した学生 (students graded)", f"{len(entries)} (今回 {summary.graded_now})"),
        ("平均点 (mean)", f"{statistics.mean(scores):.2f} / {top:g}"),
        ("中央値 (median)", f"{statistics.median(scores):.2f} / {top:g}"),
        ("手動採点待ち (needs manual grading)", f"{manual}"),
        ("問題のあった提出 (failures)", f"{len(summary.problems)}"),
        ("要確認: テストの実行への干渉 (tampering)", f"{_tampering(entries)}"),
        ("修復してから採点した提出 (repaired)", f"{repaired}"),
    ]:
        overview.add_row(label, value)
    console.print(overview)
    if summary.problems:
        failures = Table(box=None, padding=(0, 2), header_style="")
        failures.add_column("学生 (student)", no_wrap=True)
        failures.add_column("点数", justify="right", no_wrap=True)
        failures.add_column("理由 (reason)", overflow="fold")
        for student, entry in summary.problems.items():
            score = f"{entry['score']:g}/{entry['max_score']:g}"
            reasons = entry["reasons"]
            failures.add_row(student, score, reasons[0])
            for reason in reasons[1:]:
                failures.add_row("", "", reason)
        console.print()
        console.print(failures)
    if repaired:
        console.print(
            "\n  修復の内容 (削除・編集されたテストセルを戻した、など): "
            f"{summary.csv_path.with_name('repairs.csv')}",
            soft_wrap=True,
        )
    console.print(f"\ngrades.csv: {summary.csv_path}", soft_wrap=True)
