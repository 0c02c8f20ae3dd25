"""The ``dlcourse`` command of the teaching package: ``dlcourse check NOTEBOOK`` (students).

It needs Jupyter (nbclient, ipykernel), never nbgrader. Grading a class is the grader's
command, ``dlgrader``, which instructors install separately (``pip install ./grader``).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

CHECK_HELP = """\
提出する前の確認 (学生用): ノートブックを新しいカーネルで最初から実行し、採点セルの
結果を表示します。通らないテストや、エラーで止まったセルがあると終了コード 1 です
(nbgrader validate は失敗しても 0 で終わります)。nbgrader は要りません。
Runs the notebook from the top in a fresh kernel and reports every graded test cell;
exits 1 when a test fails or a cell raises. Needs Jupyter, not nbgrader.
"""

# Instructors' commands that used to live here: they belong to the grader.
GRADER_COMMANDS = ("grade", "report", "formgrader")


def positive_int(value: str) -> int:
    """argparse type of the course's commands: an integer of at least 1."""
    number = int(value)
    if number < 1:
        raise argparse.ArgumentTypeError("1 以上を指定してください (must be >= 1)")
    return number


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="dlcourse",
        description="講座の教材パッケージのコマンド (the course's teaching package).",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    check = commands.add_parser(
        "check",
        help="提出前の確認: ノートブックを実行し、テストが通らなければ 1 で終了",
        description=CHECK_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    check.add_argument(
        "notebook", metavar="NOTEBOOK", help="演習ノートブック (e.g. 01_tensors.ipynb)"
    )
    check.add_argument(
        "--timeout",
        type=positive_int,
        default=600,
        help="セルごとの制限時間 [秒] (per-cell timeout; default: %(default)s)",
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] in GRADER_COMMANDS:
        print(
            f"dlcourse: {argv[0]} は講師用の採点ツールのコマンドです。"
            f"`dlgrader {argv[0]} ...` を使ってください (採点ツールは `pip install ./grader` で"
            "入ります。学生は要りません)。"
            f" ({argv[0]} is the grader's command: dlgrader {argv[0]})",
            file=sys.stderr,
        )
        return 2
    args = build_parser().parse_args(argv)
    from dlcourse.check import check

    return check(Path(args.notebook), timeout=args.timeout)


if __name__ == "__main__":
    sys.exit(main())
