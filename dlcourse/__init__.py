"""Shared helpers of the course 「PyTorchで学ぶニューラルネットワーク入門」.

Importing the package has no side effects: seeds, fonts and matplotlib settings
change only when a notebook calls :func:`set_seed` or :func:`use_japanese_font`.
"""

from dlcourse.plotting import use_japanese_font
from dlcourse.utils import get_device, set_seed

__all__ = ["get_device", "set_seed", "use_japanese_font"]
__version__ = "0.1.0"
