"""``dlgrader report``: an HTML page on how the class did, from nbgrader's gradebook.

Two matplotlib figures, embedded as PNG: the histogram of total scores, and for every
autograded test cell the share of students who failed it (sorted, hardest first: the
exercises a class finds hardest), followed by the same numbers as tables. Manually
graded answers are not test cells and are not ranked; the student table gives each
student's score, the maximum, the manual points still to grade, and the reasons
``dlgrader grade`` recorded.
"""

from __future__ import annotations

import base64
import datetime
import html
import io
from pathlib import Path

from dlgrader.coordinator.course import Course, CourseError
from dlgrader.coordinator.journal import Journal


def collect(course: Course, assignment: str) -> dict:
    """Scores per student and failure share per autograded test cell."""
    from nbgrader.api import MissingEntry

    with course.gradebook() as gb:
        try:
            entry = gb.find_assignment(assignment)
        except MissingEntry:
            raise CourseError(f"課題 {assignment} が gradebook にありません") from None
        max_score = float(entry.max_score)
        students, cells, rows = {}, {}, {}
        for sub in entry.submissions:
            score = float(sub.score) - float(sub.late_submission_penalty or 0)
            students[sub.student.id] = score
            pending = 0.0
            for nb in sub.notebooks:
                manual = {cell.name for cell in nb.notebook.solution_cells}
                for grade in nb.grades:
                    if grade.needs_manual_grade:
                        pending += float(grade.max_score)
                    cell = grade.cell
                    if cell.cell_type != "code" or grade.auto_score is None:
                        continue
                    if grade.name in manual:
                        continue  # a manually graded answer, not a test
                    key = f"{nb.name}/{grade.name}"
                    stats = cells.setdefault(key, {"failed": 0, "graded": 0, "points": 0.0})
                    stats["points"] = float(grade.max_score)
                    stats["graded"] += 1
                    stats["failed"] += float(grade.score) < float(grade.max_score)
            rows[sub.student.id] = {"score": score, "max": max_score, "pending": pending}
    for stats in cells.values():
        stats["share"] = stats["failed"] / stats["graded"] if stats["graded"] else 0.0
    folder = course.root / "grading" / assignment
    journal = Journal(folder).entries() if folder.is_dir() else {}
    for student, row in rows.items():
        row["reasons"] = journal.get(student, {}).get("reasons", [])
    return {
        "assignment": assignment,
        "max_score": max_score,
        "students": students,
        "cells": cells,
        "rows": rows,
    }


def _png(fig) -> str:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=110, bbox_inches="tight")
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def figures(data: dict) -> tuple[str, str]:
    """(histogram, failure shares) as base64 PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from dlcourse.plotting import use_japanese_font

    use_japanese_font()
    scores = list(data["students"].values())
    fig, ax = plt.subplots(figsize=(6.4, 3.6))
    top = data["max_score"] or 1.0
    bins = min(20, max(5, int(top) + 1))
    ax.hist(scores, bins=bins, range=(0, top), color="#4c72b0", edgecolor="white")
    ax.set_xlabel("得点")
    ax.set_ylabel("学生数")
    ax.set_title(f"{data['assignment']}: 得点分布 ({len(scores)} 人)")
    histogram = _png(fig)
    plt.close(fig)

    ordered = sorted(data["cells"].items(), key=lambda item: item[1]["share"])
    fig, ax = plt.subplots(figsize=(6.4, 0.35 * max(len(ordered), 3) + 1.2))
    names = [name.split("/", 1)[1] for name, _ in ordered]
    shares = [100 * stats["share"] for _, stats in ordered]
    ax.barh(names, shares, color="#dd8452")
    ax.set_xlim(0, 100)
    ax.set_xlabel("不合格だった学生の割合 (%)")
    ax.set_title("テストセルごとの不合格率")
    failures = _png(fig)
    plt.close(fig)
    return histogram, failures


def render(data: dict) -> str:
    histogram, failures = figures(data)
    scores = sorted(data["students"].values())
    count = len(scores)
    mean = sum(scores) / count if count else 0.0
    median = (scores[(count - 1) // 2] + scores[count // 2]) / 2 if count else 0.0
    rows = "\n".join(
        f"<tr><td>{html.escape(name)}</td><td>{stats['points']:g}</td>"
        f"<td>{stats['failed']}/{stats['graded']}</td><td>{100 * stats['share']:.0f}%</td></tr>"
        for name, stats in sorted(data["cells"].items(), key=lambda item: -item[1]["share"])
    )
    students = "\n".join(
        f"<tr><td>{html.escape(s)}</td><td>{row['score']:g}</td><td>{row['max']:g}</td>"
        f"<td>{row['pending']:g}</td>"
        f"<td>{html.escape(' / '.join(row['reasons']))}</td></tr>"
        for s, row in sorted(data["rows"].items())
    )
    pending = sum(row["pending"] for row in data["rows"].values())
    when = datetime.datetime.now().strftime("%Y-%m-%d %H:%M")
    title = f"採点レポート: {html.escape(data['assignment'])}"
    return f"""<!DOCTYPE html>
<html lang="ja"><head><meta charset="utf-8"><title>{title}</title>
<style>
body {{ font-family: sans-serif; max-width: 56rem; margin: 2rem auto; }}
table {{ border-collapse: collapse; }} td, th {{ border: 1px solid #ccc; padding: .2rem .6rem; }}
td:nth-child(n+2) {{ text-align: right; }}
</style></head><body>
<h1>{title}</h1>
<p>{count} 人、平均 {mean:.2f} 点、中央値 {median:.2f} 点 (満点 {data["max_score"]:g} 点)。
作成: {when}。手動採点の点は gradebook に入っている分だけ含みます
(未採点の手動採点: 計 {pending:g} 点)。</p>
<h2>得点分布 (score histogram)</h2>
<img alt="得点分布" src="data:image/png;base64,{histogram}">
<h2>難しかった演習 (share of students who failed each test cell)</h2>
<p>自動採点のテストセルだけを並べます (手動採点の記述問題は含みません)。</p>
<img alt="テストセルごとの不合格率" src="data:image/png;base64,{failures}">
<table><tr><th>テストセル</th><th>配点</th><th>不合格/採点</th><th>不合格率</th></tr>
{rows}
</table>
<h2>学生ごとの得点</h2>
<table><tr><th>学生</th><th>得点</th><th>満点</th><th>手動採点待ちの点</th>
<th>理由 (dlgrader grade)</th></tr>
{students}
</table>
</body></html>
"""


def write_report(
    assignment: str, root: Path, db_url: str | None = None, output: str | None = None
) -> Path:
    course = Course.load(root, db_url)
    course.check_assignment(assignment)
    data = collect(course, assignment)
    path = Path(output) if output else course.state_dir(assignment) / "report.html"
    path.write_text(render(data), encoding="utf-8")
    return path
