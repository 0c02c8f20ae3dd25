"""Plotting helpers shared by the chapters."""

import matplotlib


def use_japanese_font() -> None:
    """Make matplotlib draw Japanese text with the IPAexGothic font.

    The font ships inside the ``matplotlib-fontja`` package, which the course's
    requirements install, so no figure shows missing-glyph boxes.
    """
    from matplotlib import font_manager
    from matplotlib_fontja import get_font_ttf_path

    font_path = get_font_ttf_path()
    font_manager.fontManager.addfont(font_path)
    matplotlib.rcParams["font.family"] = font_manager.FontProperties(fname=font_path).get_name()
