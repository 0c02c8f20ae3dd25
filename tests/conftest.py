import sys
from pathlib import Path

# The wrong-answer fixtures import the harness by its module name.
sys.path.insert(0, str(Path(__file__).resolve().parent))
