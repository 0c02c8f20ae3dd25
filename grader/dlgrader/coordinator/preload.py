"""Which of the kernel template's optional modules an assignment's kernels will import.

The template always imports what every chapter uses (``template.PRELOAD``); each module
of ``template.OPTIONAL`` costs 0.3-2 s of CPU before the first kernel can be served, so it
is imported only when the released notebooks, or a module of the teaching package they
import (followed through its own imports of the package), use it. A module this misses is
simply imported by the kernel itself, as in a fresh interpreter; one it names needlessly
only costs the template's start.
"""

from __future__ import annotations

import importlib.util
import json
import re

from dlgrader.sandbox.template import OPTIONAL

# What in a source means that its kernel will import the module.
USES = {
    "torch.utils.data": r"\btorch\.utils\.data\b",
    # An optimizer's first construction imports TorchDynamo.
    "torch.optim": r"\boptim\b",
    "torch._dynamo": r"\boptim\b",
    "sklearn.datasets": r"\bsklearn\b",
    "sklearn.model_selection": r"\bsklearn\b",
}
assert set(USES) == set(OPTIONAL), "every optional module of the template has a rule"
PACKAGE = "dlcourse"  # the teaching package, whose modules are followed
_IMPORTED = re.compile(
    rf"^\s*(?:from\s+({PACKAGE}(?:\.\w+)*)\s+import|import\s+({PACKAGE}(?:\.\w+)*))", re.M
)


def _package_source(module: str) -> str:
    """The source of one teaching-package module ('' when there is none)."""
    try:
        spec = importlib.util.find_spec(module)
    except (ImportError, ValueError):
        return ""
    if spec is None or not spec.origin or not spec.origin.endswith(".py"):
        return ""
    with open(spec.origin, encoding="utf-8") as handle:
        return handle.read()


def _sources(notebooks: dict[str, bytes]) -> list[str]:
    """The notebooks' code cells and the teaching-package modules they reach."""
    sources = []
    for data in notebooks.values():
        cells = json.loads(data).get("cells", [])
        code = ["".join(c.get("source", "")) for c in cells if c.get("cell_type") == "code"]
        sources.append("\n".join(code))
    seen: set[str] = set()
    index = 0
    while index < len(sources):
        for match in _IMPORTED.finditer(sources[index]):
            module = match.group(1) or match.group(2)
            if module not in seen:
                seen.add(module)
                sources.append(_package_source(module))
        index += 1
    return sources


def kernel_preload(notebooks: dict[str, bytes]) -> list[str]:
    """The optional template modules that kernels running these notebooks import."""
    text = "\n".join(_sources(notebooks))
    return [name for name in OPTIONAL if re.search(USES[name], text)]
