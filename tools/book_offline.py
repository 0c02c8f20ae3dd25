"""Sphinx extension of the book: everything a page needs is served by the book itself.

Loaded from ``_config.yml`` (``sphinx.local_extensions``). It

- installs the pinned JavaScript assets (tools/assets.py) into ``_vendor/`` when
  they are missing, so a plain ``jupyter-book build`` works offline too; the
  config points MathJax, require.js and the ipywidgets manager at them;
- replaces sphinx-thebe's loader, which fetches Thebe 0.8.2 from unpkg, with
  ``live-code.js`` (tools/book_static/), which loads the local Thebe 0.9 (the
  first release that knows ipywidgets 8) and connects it to Binder, or to a
  local Jupyter server when ``make live`` serves the book;
- writes under every widget how to make it live (the static page shows the
  initial state saved when the book was executed);
- makes the Japanese search find words that the index stored in pieces (see
  :class:`SearchJapaneseQuery`);
- embeds each downloadable notebook in its link as a ``data:`` URL with a
  ``download`` file name (see :func:`embed_notebook_downloads`), so the link saves
  the notebook also when the book is opened from disk (``file://``), where
  browsers ignore ``download`` on ordinary links and show the raw JSON.
"""

import base64
import hashlib
import html
import re
import sys
from pathlib import Path

from docutils import nodes
from sphinx.application import Sphinx
from sphinx.search.ja import SearchJapanese

HERE = Path(__file__).resolve().parent
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
WIDGET_HINT = (
    "この図は本のビルド時に保存した初期状態です。スライダーなどを動かして図を更新するには、"
    "ページ上部のロケットのボタンから「Live Code」を選び、セルの「run all」でコードを"
    "実行します (公開版の本は Binder に、手元で {make_live} を実行して開いた本は手元の"
    " Jupyter に接続します)。"
    "Binder・Colab・手元の Jupyter でノートブックを開いても動かせます。"
)

# The query-side splitter of the Japanese search (Sphinx's searchtools.js calls
# `splitQuery`). The index was built by Sphinx's Japanese splitter
# (TinySegmenter), which cuts 誤差逆伝播 into 誤差 / 逆伝播 and drops 1-character
# pieces, while the browser would look the query up whole and find nothing. A
# Japanese run that is neither an index term nor part of one is therefore cut
# into the longest index terms it contains, from left to right.
JS_SPLITTER = r"""
function splitQuery(query) {
  const index = (typeof Search !== "undefined" && Search._index) || {};
  const terms = index.terms || {};
  const titles = index.titleterms || {};
  const known = (word) => word in terms || word in titles;
  const partOfKnown = (word) =>
    Object.keys(terms).some((t) => t.includes(word)) ||
    Object.keys(titles).some((t) => t.includes(word));
  const japanese = /[\p{Script=Han}\p{Script=Hiragana}\p{Script=Katakana}]/u;
  const words = [];
  for (const token of query.split(/[^\p{Letter}\p{Number}_\p{Emoji_Presentation}]+/gu)) {
    if (!token) continue;
    const lower = token.toLowerCase();
    if (!japanese.test(token) || known(lower) || partOfKnown(lower)) {
      words.push(token);
      continue;
    }
    const pieces = [];
    for (let start = 0; start < token.length; ) {
      let end = token.length;
      while (end > start + 1 && !known(lower.slice(start, end))) end--;
      if (known(lower.slice(start, end))) pieces.push(token.slice(start, end));
      start = end;
    }
    words.push(...(pieces.length ? pieces : [token]));
  }
  return words;
}

// Sphinx's Japanese catalog leaves the result count of a search untranslated (empty).
if (typeof Documentation !== "undefined" && Documentation.TRANSLATIONS) {
  const finished = "Search finished, found ${resultCount} page(s) matching the search query.";
  Documentation.TRANSLATIONS[finished] ||=
    "検索が終わりました。${resultCount} ページが見つかりました。";
}
"""


class SearchJapaneseQuery(SearchJapanese):
    """Sphinx's Japanese search with a query splitter that matches its index."""

    js_splitter_code = JS_SPLITTER


def install_assets(app: Sphinx, config) -> None:
    sys.path.insert(0, str(HERE))
    import assets

    assets.ensure(verbose=True)
    # Sphinx copies static files (and writes the search's language_data.js)
    # only when some page is rebuilt: a digest of them and of this extension in
    # the config makes a change of either rebuild the pages.
    digest = hashlib.sha256(assets.STAMP.read_bytes() + Path(__file__).read_bytes())
    for path in sorted((HERE / "book_static").iterdir()):
        digest.update(path.name.encode() + path.read_bytes())
    config.book_offline_assets = digest.hexdigest()


def replace_thebe_loader(app: Sphinx, config) -> None:
    """Drop sphinx-thebe's CDN loader (live-code.js takes its place)."""
    import sphinx_thebe

    for listener in list(app.events.listeners.get("env-before-read-docs", [])):
        if listener.handler is sphinx_thebe.init_thebe_core:
            app.disconnect(listener.id)


def add_static_path(app: Sphinx) -> None:
    app.config.html_static_path.append(str(HERE / "book_static"))


def add_widget_hints(app: Sphinx, doctree: nodes.document, docname: str) -> None:
    """Below every saved widget, tell the reader how to make it live."""
    for raw in list(doctree.findall(nodes.raw)):
        if WIDGET_VIEW not in raw.astext():
            continue
        cell = raw.parent
        while cell is not None and "cell" not in cell.get("classes", []):
            cell = cell.parent
        if cell is None or cell.parent is None:
            continue
        before, after = WIDGET_HINT.split("{make_live}")
        hint = nodes.container(classes=["dlcourse-widget-hint"])
        hint += nodes.paragraph(
            "", "", nodes.Text(before), nodes.literal("make live", "make live"), nodes.Text(after)
        )
        cell.parent.insert(cell.parent.index(cell) + 1, hint)


DOWNLOAD_LINK = re.compile(
    r'<a class="reference download internal" download="" href="([^"]+\.ipynb)">'
)


def embed_notebook_downloads(app: Sphinx, exception: Exception | None) -> None:
    """Point every notebook download link at a data: URL holding the notebook itself."""
    if exception is not None or app.builder.format != "html":
        return
    out = Path(app.outdir)
    for page in out.rglob("*.html"):
        text = page.read_text(encoding="utf-8")
        if "reference download internal" not in text:
            continue

        def embed(match: re.Match, page: Path = page) -> str:
            target = (page.parent / html.unescape(match.group(1))).resolve()
            if not target.is_file():
                return match.group(0)
            data = base64.b64encode(target.read_bytes()).decode("ascii")
            name = html.escape(target.name, quote=True)
            return (
                f'<a class="reference download internal" download="{name}"'
                f' href="data:application/x-ipynb+json;base64,{data}">'
            )

        changed = DOWNLOAD_LINK.sub(embed, text)
        if changed != text:
            page.write_text(changed, encoding="utf-8")


def setup(app: Sphinx) -> dict:
    app.add_search_language(SearchJapaneseQuery)
    app.add_config_value("book_offline_assets", "", "html")
    app.connect("config-inited", install_assets)
    app.connect("config-inited", replace_thebe_loader)
    app.connect("builder-inited", add_static_path)
    app.connect("doctree-resolved", add_widget_hints)
    app.connect("build-finished", embed_notebook_downloads)
    app.add_js_file("live-code.js", defer="defer")
    app.add_css_file("live-code.css")
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
