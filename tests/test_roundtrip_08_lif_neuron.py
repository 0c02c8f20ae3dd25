"""nbgrader round trip of chapter 08_lif_neuron (checks: tests/roundtrip.py)."""

from roundtrip import *  # noqa: F403

CHAPTER = "08_lif_neuron"
