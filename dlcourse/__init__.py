"""Shared helpers of the course 「PyTorchで学ぶニューラルネットワーク入門」.

Importing the package has no side effects: seeds, fonts and matplotlib settings
change only when a notebook calls :func:`set_seed` or :func:`use_japanese_font`.
The helpers are loaded on first use, so that tools that need none of them (the
``dlcourse`` grading command) do not pay for importing torch and matplotlib.
"""

from importlib import import_module

__all__ = ["get_device", "set_seed", "use_japanese_font"]
__version__ = "0.1.0"

_HOMES = {
    "get_device": "dlcourse.utils",
    "set_seed": "dlcourse.utils",
    "use_japanese_font": "dlcourse.plotting",
}


def __getattr__(name: str):
    if name in _HOMES:
        value = getattr(import_module(_HOMES[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'dlcourse' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), *_HOMES])
