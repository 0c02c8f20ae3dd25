"""Static signs that a submission tampers with how its tests run (read before grading).

The kernel's guard (``kernel_guard.py``) puts the execution machinery back before each
test cell and checks that the cell ran to its end; both run inside the student's
interpreter, where a determined attacker can reach them. This scan reads the student's
cells from outside: code that touches IPython's execution machinery, trace functions,
the interpreter's history of cell sources, or rebinds attributes of the modules the
tests use is reported for the instructor to check (「要確認」). Correct solutions of the
course's exercises use none of it.
"""

from __future__ import annotations

import ast
import re

import nbformat

# How the summary and grades.csv name a submission that interfered with its tests.
TAMPER_LABEL = "要確認: テストの実行への干渉"
# Names that only code changing how cells run (or reading other cells' sources) uses.
MACHINERY = {
    "input_transformers_post": "入力変換 (input_transformers_post)",
    "input_transformers_cleanup": "入力変換 (input_transformers_cleanup)",
    "input_transformer_manager": "入力変換 (input_transformer_manager)",
    "ast_transformers": "AST 変換 (ast_transformers)",
    "run_cell": "セルの実行関数 (run_cell)",
    "run_cell_async": "セルの実行関数 (run_cell_async)",
    "run_ast_nodes": "セルの実行関数 (run_ast_nodes)",
    "run_code": "セルの実行関数 (run_code)",
    "transform_cell": "セルの変換 (transform_cell)",
    "transform_ast": "セルの変換 (transform_ast)",
    "showtraceback": "エラー表示 (showtraceback)",
    "_showtraceback": "エラー表示 (_showtraceback)",
    "user_expressions": "user_expressions",
    "do_execute": "カーネルの実行関数 (do_execute)",
    "execute_request": "カーネルの実行関数 (execute_request)",
    "settrace": "トレース関数 (settrace)",
    "setprofile": "プロファイル関数 (setprofile)",
    "excepthook": "例外フック (excepthook)",
    "history_manager": "入力履歴 (history_manager)",
    "_ih": "入力履歴 (_ih)",
    "_getframe": "実行中のフレーム (sys._getframe)",
    "currentframe": "実行中のフレーム (inspect.currentframe)",
    "f_back": "実行中のフレーム (f_back)",
    "f_lineno": "実行中のフレーム (f_lineno)",
    "get_referrers": "gc.get_referrers",
    "get_objects": "gc.get_objects",
    "_dlcourse_guard": "採点用のガード",
}
# Bare names that no ordinary code uses (others count only as attributes or strings,
# since a student may well call her own function ``run_code``).
UNAMBIGUOUS_NAMES = {"_ih", "_dlcourse_guard"}
# Event hooks: ``get_ipython().events.register(...)`` and friends.
EVENT_METHODS = {"register", "unregister", "callbacks", "trigger"}
# Modules whose attributes the tests rely on: assigning to them is tampering.
PROTECTED_ROOTS = {
    "torch",
    "np",
    "numpy",
    "F",
    "nn",
    "dlcourse",
    "testing",
    "builtins",
    "math",
    "sys",
    "IPython",
}
# Attribute chains under protected roots that ordinary code sets.
ALLOWED_ASSIGNMENTS = ("torch.backends.", "np.random.", "numpy.random.")
# Checking helpers a test may call by a name the notebook imported.
HELPER_NAMES = {"isclose", "allclose", "array_equal", "forbidden_builtins", "max_abs_diff"}
NAME_PATTERN = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def _dotted(node: ast.AST) -> str | None:
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        parts.append(node.id)
        return ".".join(reversed(parts))
    return None


def _flat_targets(targets: list[ast.AST]) -> list[ast.AST]:
    flat = []
    for target in targets:
        if isinstance(target, ast.Tuple | ast.List):
            flat += _flat_targets(list(target.elts))
        elif isinstance(target, ast.Starred):
            flat += _flat_targets([target.value])
        else:
            flat.append(target)
    return flat


def _python(source: str) -> str:
    """The cell as Python (IPython magics and shell escapes turned into calls)."""
    try:
        from IPython.core.inputtransformer2 import TransformerManager

        return TransformerManager().transform_cell(source)
    except Exception:  # noqa: BLE001 - fall back to the raw text
        return source


def scan_source(source: str) -> list[str]:
    """Japanese descriptions of what in ``source`` tampers with the tests (may be empty)."""
    code = _python(source)
    found: list[str] = []

    def note(text: str) -> None:
        if text not in found:
            found.append(text)

    try:
        tree = ast.parse(code)
    except SyntaxError:
        for name in NAME_PATTERN.findall(code):
            if name in MACHINERY:
                note(MACHINERY[name])
        return found
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute):
            if node.attr in MACHINERY:
                note(MACHINERY[node.attr])
            if node.attr in EVENT_METHODS and isinstance(node.value, ast.Attribute):
                if node.value.attr == "events":
                    note(f"イベントフック (events.{node.attr})")
        elif isinstance(node, ast.Name) and node.id in UNAMBIGUOUS_NAMES:
            note(MACHINERY[node.id])
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            if node.value in MACHINERY:
                note(MACHINERY[node.value] + " (文字列で指定)")
        if isinstance(node, ast.Assign | ast.AugAssign | ast.AnnAssign | ast.Delete):
            targets = node.targets if isinstance(node, ast.Assign | ast.Delete) else [node.target]
            for target in _flat_targets(targets):
                if isinstance(target, ast.Attribute):
                    dotted = _dotted(target) or ""
                    if dotted.split(".")[0] in PROTECTED_ROOTS and not dotted.startswith(
                        ALLOWED_ASSIGNMENTS
                    ):
                        note(f"モジュールの属性の書き換え ({dotted})")
                elif isinstance(target, ast.Subscript):
                    if _dotted(target.value) in ("sys.modules", "__builtins__"):
                        note(f"{_dotted(target.value)} の書き換え")
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            if node.func.id in ("setattr", "delattr") and node.args:
                root = (_dotted(node.args[0]) or "").split(".")[0]
                if root in PROTECTED_ROOTS:
                    note(f"モジュールの属性の書き換え ({node.func.id}({_dotted(node.args[0])}, …))")
    return found


def _bound_names(source: str) -> set[str]:
    """Names a cell binds at top level (assignments, definitions, imports)."""
    try:
        tree = ast.parse(_python(source))
    except SyntaxError:
        return set()
    names = set()
    for node in tree.body:
        if isinstance(node, ast.Assign | ast.AugAssign | ast.AnnAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names |= {t.id for t in _flat_targets(targets) if isinstance(t, ast.Name)}
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.add(node.name)
        elif isinstance(node, ast.Import | ast.ImportFrom):
            names |= {(alias.asname or alias.name).split(".")[0] for alias in node.names}
    return names


def is_helper_name(name: str) -> bool:
    """Names of checking helpers that the tests call (assert_close, isclose, ...)."""
    return name.startswith("assert") or name in HELPER_NAMES


def is_test_cell(cell) -> bool:
    """Graded test cells: nbgrader restores their source from the gradebook."""
    meta = cell.get("metadata", {}).get("nbgrader", {})
    return bool(meta.get("grade")) and not meta.get("solution")


def scan_notebook(nb: nbformat.NotebookNode) -> list[str]:
    """One line per student code cell with signs of tampering: 「cell: what」."""
    lines = []
    helpers = set()
    for cell in nb.cells:
        meta = cell.get("metadata", {}).get("nbgrader", {})
        if cell.cell_type == "code" and not meta.get("solution") and not meta.get("grade"):
            helpers |= {name for name in _bound_names(cell.source) if is_helper_name(name)}
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "code" or is_test_cell(cell):
            continue
        found = scan_source(cell.source)
        if cell.get("metadata", {}).get("nbgrader", {}).get("solution"):
            for name in sorted(_bound_names(cell.source) & helpers):
                found.append(f"テスト用の関数の名前の書き換え ({name})")
        if found:
            label = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id") or f"セル {index}"
            lines.append(f"{label}: {', '.join(found)}")
    return lines
