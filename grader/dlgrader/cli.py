"""The ``dlgrader`` command (instructors, from the course root): grade, report, formgrader.

Students check their notebooks with the teaching package's ``dlcourse check``.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from dlcourse.cli import positive_int

DESCRIPTION = """\
講座の採点ツール (the course's grader, for instructors). grade / report / formgrader は
コースのルート (nbgrader_config.py のあるフォルダ) で実行します。学生の提出前の確認は
教材パッケージの `dlcourse check` です。
"""

GRADE_HELP = """\
submitted/*/ASSIGNMENT/ のすべての提出を、並列・隔離して自動採点します。
nbgrader の gradebook と autograded/ に書くので、nbgrader export・generate_feedback・
formgrader はそのまま使えます。中断しても、再実行すると続きから採点します。
Autogrades every submission in parallel, each in its own sandbox; results go to nbgrader's
own gradebook and autograded/ folder. Re-running after a crash resumes where it stopped.
"""


FORMGRADER_HELP = """\
記述問題を採点する nbgrader の formgrader を、このコースの設定で起動します
(JupyterLab。root でも起動し、各記述問題の下に solutions/ の採点基準を表示し、
数式の MathJax をこのサーバーから配ります)。表示された URL をブラウザで開きます。
Starts JupyterLab with nbgrader's formgrader for this course: the rubric of each written
answer beside it, MathJax served locally; open the URL it prints.
"""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="dlgrader",
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands = parser.add_subparsers(dest="command", required=True)

    grade = commands.add_parser(
        "grade",
        help="課題を並列・隔離して自動採点 (autograde an assignment)",
        description=GRADE_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    grade.add_argument("assignment", metavar="ASSIGNMENT", help="課題名 (e.g. 01_tensors)")
    grade.add_argument(
        "--workers",
        type=positive_int,
        default=os.cpu_count() or 1,
        help="並列数 (parallel workers; default: number of cores = %(default)s)",
    )
    grade.add_argument(
        "--timeout",
        type=positive_int,
        help="セルごとの制限時間 [秒] (per-cell timeout; default: Execute.timeout of the course)",
    )
    grade.add_argument(
        "--memory",
        type=positive_int,
        default=2048,
        metavar="MB",
        help="カーネルのメモリ上限 [MB] (kernel memory cap; default: %(default)s)",
    )
    grade.add_argument(
        "--cpu",
        type=positive_int,
        metavar="S",
        help="カーネルの CPU 時間の上限 [秒] (kernel CPU-time cap; default: 10 x timeout)",
    )
    grade.add_argument(
        "--db",
        metavar="URL",
        help="gradebook の URL (e.g. postgresql://user@host/db; default: the course's db_url)",
    )
    grade.add_argument(
        "--scheduler",
        metavar="ADDR",
        help="Dask の scheduler (e.g. tcp://HOST:8786): クラスタで採点 (grade on a Dask cluster)",
    )
    grade.add_argument(
        "--force",
        action="store_true",
        help="採点済みの提出も採点し直す (regrade everything, ignoring the journal)",
    )
    grade.add_argument(
        "--allow-network",
        action="store_true",
        help="学生のコードにネットワークを許す (do not block the network; not recommended)",
    )
    grade.add_argument(
        "--no-progress", action="store_true", help="進捗バーを出さない (no progress bar)"
    )

    report = commands.add_parser(
        "report",
        help="採点結果の HTML レポート (HTML report: histogram, hardest tests)",
        description="得点分布と、テストセルごとの不合格率を HTML にまとめます "
        "(score histogram and per-test failure share as an HTML page).",
    )
    report.add_argument("assignment", metavar="ASSIGNMENT")
    report.add_argument("--db", metavar="URL", help="gradebook の URL (default: the course's)")
    report.add_argument(
        "--output", metavar="FILE", help="出力先 (default: grading/ASSIGNMENT/report.html)"
    )
    formgrader = commands.add_parser(
        "formgrader",
        help="nbgrader の formgrader (手動採点の画面) を起動 (start the formgrader)",
        description=FORMGRADER_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    formgrader.add_argument("--port", type=positive_int, default=8888, help="%(default)s")
    formgrader.add_argument("--ip", default="127.0.0.1", help="待ち受けるアドレス (%(default)s)")

    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    from dlgrader.coordinator.course import CourseError

    try:
        if args.command == "formgrader":
            from dlgrader.formgrader import start

            return start(Path.cwd(), args.ip, args.port)
        if args.command == "grade":
            from dlgrader.coordinator.run import Options, grade

            options = Options(
                assignment=args.assignment,
                root=Path.cwd(),
                workers=args.workers,
                timeout=args.timeout,
                memory_mb=args.memory,
                cpu_seconds=args.cpu,
                db_url=args.db,
                scheduler=args.scheduler,
                force=args.force,
                block_network=not args.allow_network,
                progress=not args.no_progress,
            )
            grade(options)
            return 0
        from dlgrader.coordinator.report import write_report

        path = write_report(args.assignment, Path.cwd(), args.db, args.output)
        print(f"レポートを書きました (report written): {path}")
        return 0
    except CourseError as exc:
        print(f"dlgrader: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(
            "\ndlgrader: 中断しました。再実行すると続きから採点します "
            "(interrupted; re-run to resume)",
            file=sys.stderr,
        )
        return 130


if __name__ == "__main__":
    sys.exit(main())
