"""Class-scale grading on top of nbgrader (``dlcourse grade`` / ``dlcourse report``)."""

import sys

# jsonschema, imported with nbformat, loads rfc3987_syntax when it is installed (it comes
# with jupyter_server's dependencies), and that compiles 38 grammars: 1.2 s in every
# process that reads a notebook. Its one use is the "iri" string format, which no
# notebook schema has; without it nbformat imports in 0.1 s.
sys.modules.setdefault("rfc3987_syntax", None)
