"""The course's grader: class-scale, sandboxed autograding on top of nbgrader.

Instructors install it beside the teaching package (``pip install ./grader``); students never
do. ``dlgrader grade`` / ``report`` / ``formgrader`` is its command line. How the processes and
modules fit together: ARCHITECTURE.md next to this package.
"""

import sys

# jsonschema, imported with nbformat, loads rfc3987_syntax when it is installed (it comes
# with jupyter_server's dependencies), and that compiles 38 grammars: 1.2 s in every
# process that reads a notebook. Its one use is the "iri" string format, which no
# notebook schema has; without it nbformat imports in 0.1 s.
sys.modules.setdefault("rfc3987_syntax", None)
