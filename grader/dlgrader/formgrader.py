"""A Jupyter server extension on top of nbgrader's formgrader (``dlgrader formgrader``).

What it changes on the formgrader's page of a submission (and nowhere else):

- **The rubric beside the answer.** Each written answer's rubric sits in the solution
  region of its cell in the *source* notebook (``solutions/``); the release strips it and
  nbgrader never shows it again. The page now shows, under every manually graded answer,
  the lines of that region, read from the source notebook when the page is rendered. Only
  the formgrader's own exporter gets this: ``generate_feedback`` and the release do not.
- **MathJax from this server.** nbgrader's page loads MathJax 2.7.7 from a CDN (its
  template calls nbconvert's ``mathjax()`` macro without a URL), so offline formulas stay
  raw LaTeX and ``formgrade.js`` stops at ``MathJax is not defined``. The page now loads
  the same release from ``/dlgrader/mathjax/``; :func:`ensure_mathjax` unpacks it once from
  the npm registry (``npm pack``, pinned sha512) into the environment's ``share/dlgrader``.
  The book's MathJax (``_vendor/``) is 3.2.2, whose API (no ``MathJax.Hub``) formgrade.js
  cannot use.

The extension registers its submission handler before nbgrader's (jupyter_server loads
extensions in name order, and ``dlgrader...`` sorts before ``nbgrader...``), so the same
URL ``/formgrader/submissions/<id>/`` serves the page, from JupyterLab's Nbgrader menu too.
"""

from __future__ import annotations

import base64
import fnmatch
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

import nbformat
from nbconvert.preprocessors import Preprocessor

MATHJAX_VERSION = "2.7.7"  # what nbconvert's mathjax() macro names, and formgrade.js expects
MATHJAX_INTEGRITY = (
    "sha512-OOl0B2/0tSJAtAZarXnQuLDBLgTNRqiI9VqHTQzPsxf4o"
    "kT2iIpDrvaklK9x2QEMD1sDj4yRn11Ygci41DxMAQ=="
)
MATHJAX_CONFIG = "TeX-AMS_CHTML-full,Safe"  # the configuration nbconvert's macro asks for
# The files that configuration loads: the combined TeX -> CommonHTML component, its fonts,
# the extensions it loads lazily (Safe, the menu, zoom) and the messages (en, ja).
MATHJAX_FILES = (
    "MathJax.js",
    "config/TeX-AMS_CHTML-full.js",
    "config/Safe.js",
    "extensions/*",
    "jax/input/TeX/*",
    "jax/output/CommonHTML/*",
    "jax/element/*",
    "fonts/HTML-CSS/TeX/woff/*",
    "localization/en/*",
    "localization/ja/*",
)
MATHJAX_URL = "/dlgrader/mathjax/"
RUBRIC_BEGIN, RUBRIC_END = "### BEGIN SOLUTION", "### END SOLUTION"


def mathjax_dir() -> Path:
    """Where this environment keeps MathJax 2 (outside any course: no git, no book)."""
    return Path(sys.prefix) / "share" / "dlgrader" / f"mathjax-{MATHJAX_VERSION}"


def ensure_mathjax(log=print) -> Path | None:
    """MathJax 2.7.7 unpacked under :func:`mathjax_dir`; None when npm cannot fetch it."""
    target = mathjax_dir()
    stamp = target / ".integrity"
    if stamp.is_file() and stamp.read_text(encoding="utf-8").strip() == MATHJAX_INTEGRITY:
        return target
    npm = shutil.which("npm")
    if npm is None:
        log("dlgrader: npm が見つからないため、formgrader の数式は CDN の MathJax を使います")
        return None
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target.parent) as tmp:
        spec = f"mathjax@{MATHJAX_VERSION}"
        done = subprocess.run(
            [npm, "pack", "--json", "--pack-destination", tmp, spec],
            capture_output=True,
            text=True,
            timeout=600,
        )
        if done.returncode != 0:
            log(f"dlgrader: npm pack {spec} に失敗しました: {done.stderr.strip()[-300:]}")
            return None
        tarball = Path(tmp) / json.loads(done.stdout)[0]["filename"]
        digest = base64.b64encode(hashlib.sha512(tarball.read_bytes()).digest()).decode()
        if f"sha512-{digest}" != MATHJAX_INTEGRITY:
            log(f"dlgrader: {tarball.name} の sha512 が一致しません (integrity mismatch)")
            return None
        staging = Path(tmp) / "mathjax"
        with tarfile.open(tarball, "r:gz") as archive:
            for member in archive.getmembers():
                name = member.name.removeprefix("package/")
                if member.isfile() and any(fnmatch.fnmatchcase(name, p) for p in MATHJAX_FILES):
                    destination = staging / name
                    destination.parent.mkdir(parents=True, exist_ok=True)
                    with archive.extractfile(member) as source, open(destination, "wb") as out:
                        shutil.copyfileobj(source, out)
        (staging / ".integrity").write_text(MATHJAX_INTEGRITY + "\n", encoding="utf-8")
        shutil.rmtree(target, ignore_errors=True)
        staging.rename(target)
    return target


def rubrics(source: nbformat.NotebookNode) -> dict[str, str]:
    """grade_id -> rubric (the solution region) of every manually graded answer cell."""
    found = {}
    for cell in source.cells:
        meta = cell.get("metadata", {}).get("nbgrader", {})
        if not (meta.get("grade") and meta.get("solution") and meta.get("grade_id")):
            continue
        lines, inside = [], False
        for line in cell.source.splitlines():
            if RUBRIC_BEGIN in line:
                inside = True
            elif RUBRIC_END in line:
                inside = False
            elif inside:
                lines.append(line)
        text = "\n".join(lines).strip()
        if text:
            found[meta["grade_id"]] = text
    return found


# The formgrader's page with the local MathJax and a rubric under each manual answer.
# It extends nbgrader's own template (found through the exporter's "formgrade" paths).
TEMPLATE = r"""
{%- extends 'index.html.j2' -%}
{%- from 'formgrade_macros.html.j2' import header as formgrade_header -%}

{%- block header -%}
<!DOCTYPE html>
<html>
<head>
{{ formgrade_header(resources) }}
{% for css in resources.inlining.css -%}
    <style type="text/css">
    {{ css }}
    </style>
{% endfor %}
{{ mathjax(resources.dlcourse_mathjax_url) }}
<link rel="stylesheet" href="{{ resources.base_url }}/formgrader/static/css/formgrade.css" />
<style type="text/css">
.dlcourse-rubric { margin: 0 0 1.5em 0; border-left: 4px solid #8a6d3b; }
.dlcourse-rubric .panel-heading { font-weight: bold; }
</style>
</head>
{%- endblock header -%}

{%- macro rubric(cell) -%}
{%- if cell.metadata.dlcourse_rubric -%}
<div class="panel panel-warning dlcourse-rubric"
     data-grade-id="{{ cell.metadata.nbgrader.grade_id }}">
  <div class="panel-heading">
    採点基準 (講師だけに表示: {{ resources.dlcourse_rubric_source }} より)
  </div>
  <div class="panel-body text_cell_render rendered_html">
    {{ cell.metadata.dlcourse_rubric | markdown2html | strip_files_prefix }}
  </div>
</div>
{%- endif -%}
{%- endmacro -%}

{% block markdowncell scoped %}
{{ super() }}
{{ rubric(cell) }}
{% endblock markdowncell %}

{% block input %}
{{ super() }}
{{ rubric(cell) }}
{% endblock input %}
"""
TEMPLATE_NAME = "dlcourse_formgrade.html.j2"


def _exporter(settings: dict):
    """The formgrader's HTMLExporter with this module's template and the rubric step."""
    exporter = settings.get("dlcourse_exporter")
    if exporter is None:
        from jinja2 import DictLoader
        from nbconvert.exporters import HTMLExporter
        from nbgrader.server_extensions.formgrader import handlers

        exporter = HTMLExporter(
            config=settings["nbgrader_exporter"].config,
            template_name="formgrade",
            extra_template_basedirs=[handlers.template_path],
            extra_loaders=[DictLoader({TEMPLATE_NAME: TEMPLATE})],
        )
        exporter.template_file = TEMPLATE_NAME
        exporter.register_preprocessor(AddRubrics(), enabled=True)
        settings["dlcourse_exporter"] = exporter
    return exporter


class AddRubrics(Preprocessor):
    """Attach each answer's rubric (``resources["dlcourse_rubrics"]``) to its cell."""

    def preprocess(self, nb, resources):
        found = resources.get("dlcourse_rubrics") or {}
        for cell in nb.cells:
            grade_id = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
            if grade_id in found:
                cell.metadata["dlcourse_rubric"] = found[grade_id]
        return nb, resources


class _RubricExporter:
    """Adds the rubric and MathJax resources, then renders with :func:`_exporter`."""

    def __init__(self, handler) -> None:
        self.handler = handler

    def from_filename(self, filename: str, resources: dict):
        handler = self.handler
        coursedir = handler.coursedir
        source_dir = Path(
            coursedir.format_path(coursedir.source_directory, ".", resources["assignment_id"])
        )
        source = source_dir / f"{resources['notebook_id']}.ipynb"
        found = {}
        if source.is_file():
            found = rubrics(nbformat.read(source, as_version=4))
        base = handler.base_url
        local = handler.settings.get("dlcourse_mathjax_dir")
        mathjax = (
            f"{base}{MATHJAX_URL}MathJax.js?config={MATHJAX_CONFIG}"
            if local
            else "https://cdnjs.cloudflare.com/ajax/libs/mathjax/"
            f"{MATHJAX_VERSION}/latest.js?config={MATHJAX_CONFIG}"
        )
        resources = {
            **resources,
            "dlcourse_rubrics": found,
            "dlcourse_rubric_source": os.path.relpath(source, coursedir.root),
            "dlcourse_mathjax_url": mathjax,
        }
        return _exporter(handler.settings).from_filename(filename, resources=resources)


def _handlers():
    from nbgrader.server_extensions.formgrader.handlers import SubmissionHandler

    class SubmissionWithRubric(SubmissionHandler):
        """nbgrader's submission page, rendered by :class:`_RubricExporter`."""

        @property
        def exporter(self):
            return _RubricExporter(self)

    return SubmissionWithRubric


def _jupyter_server_extension_points():
    return [{"module": "dlgrader.formgrader"}]


def _load_jupyter_server_extension(serverapp) -> None:
    from jupyter_server.utils import url_path_join
    from tornado import web

    webapp = serverapp.web_app
    base = webapp.settings["base_url"]
    local = ensure_mathjax(log=serverapp.log.warning)
    webapp.settings["dlcourse_mathjax_dir"] = str(local) if local else None
    handlers = [(url_path_join(base, r"/formgrader/submissions/([^/]+)/?"), _handlers())]
    if local:
        handlers.append(
            (url_path_join(base, MATHJAX_URL, "(.*)"), web.StaticFileHandler, {"path": str(local)})
        )
    webapp.add_handlers(".*$", handlers)
    serverapp.log.info(
        "dlgrader: formgrader の採点基準と MathJax %s を有効にしました", MATHJAX_VERSION
    )


def start(root: Path, ip: str, port: int) -> int:
    """``dlgrader formgrader``: JupyterLab on the course with this extension (never returns)."""
    import secrets

    from dlgrader.coordinator.course import CourseError, ensure_tools_on_path

    root = root.resolve()
    if not (root / "nbgrader_config.py").is_file():
        raise CourseError(
            f"{root} はコースのルートではありません (nbgrader_config.py がありません)。"
            "コースのルートに移ってから実行してください (run it in the course root)."
        )
    ensure_tools_on_path()
    if ensure_mathjax() is None:
        print("dlgrader: MathJax を用意できなかったため、数式は CDN から読み込みます", flush=True)
    # The extension is enabled for this server only, through an extra config folder
    # (jupyter_server merges jpserver_extensions from every config path).
    config = Path(sys.prefix) / "share" / "dlgrader" / "jupyter-config"
    enable = config / "jupyter_server_config.d" / "dlgrader.json"
    enable.parent.mkdir(parents=True, exist_ok=True)
    enable.write_text(
        json.dumps({"ServerApp": {"jpserver_extensions": {"dlgrader.formgrader": True}}}),
        encoding="utf-8",
    )
    env = dict(os.environ)
    env["JUPYTER_CONFIG_PATH"] = os.pathsep.join(
        filter(None, [str(config), env.get("JUPYTER_CONFIG_PATH")])
    )
    token = secrets.token_hex(24)
    command = [sys.executable, "-m", "jupyterlab", "--no-browser", f"--ip={ip}", f"--port={port}"]
    command += [f"--ServerApp.root_dir={root}", f"--IdentityProvider.token={token}"]
    command += ["--ServerApp.port_retries=0"]
    if os.geteuid() == 0:
        command.append("--allow-root")  # jupyter refuses to start as root without it
    # The login goes through /formgrader: a token on a deeper link (/formgrader/gradebook/...)
    # ties the login cookie to that path, and the grading form then loads and saves nothing.
    host = "127.0.0.1" if ip in ("0.0.0.0", "") else ip
    print(
        "formgrader を起動します。ブラウザで次の URL を開いてください "
        f"(open this URL; stop with Ctrl-C):\n\n    http://{host}:{port}/formgrader?token={token}\n",
        flush=True,
    )
    os.execve(sys.executable, command, env)
    return 0  # not reached
