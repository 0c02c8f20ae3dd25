/**
 * Live code for the book: turns the code cells of a page into cells that run
 * on a Jupyter kernel, with Thebe 0.9 served from the book's own _static/
 * folder (no CDN). It replaces sphinx-thebe's loader, which fetches Thebe
 * 0.8 (ipywidgets 7 only) from unpkg.
 *
 * The rocket menu's "Live Code" entry calls initThebe() (sphinx-book-theme's
 * initThebeSBT first adds a status button under the title). The kernel comes
 * from Binder, as the page's x-thebe-config says, unless the page was served
 * by `make live` (tools/live.py), which adds a second x-thebe-config that
 * points at the local Jupyter server.
 */
"use strict";

var DLCOURSE_LIVE = {
  started: false,
  staticUrl: (path) => document.documentElement.dataset.content_root + "_static/" + path,
  setStatus: (text, status) => {
    document.querySelectorAll(".thebe-launch-button").forEach((button) => {
      button.textContent = text;
      button.dataset.status = status || "";
    });
  },
};

/** Mark the cells' code and outputs the way Thebe looks for them. */
var prepareCellsForThebe = () => {
  document.querySelectorAll("div.cell").forEach((cell) => {
    const source = cell.querySelector(".cell_input pre");
    if (!source) return;
    source.setAttribute("data-executable", "true");
    source.setAttribute("data-language", "python");
    // Thebe pairs the n-th cell with the n-th output: every cell gets one.
    let output = cell.querySelector(".cell_output");
    if (!output) {
      output = document.createElement("div");
      output.className = "cell_output docutils container";
    }
    output.setAttribute("data-output", "");
    source.insertAdjacentElement("afterend", output);
    cell.querySelectorAll("button.copybtn").forEach((button) => button.remove());
  });
};

var startThebe = () => {
  thebe.on("status", (event, data) => {
    const messages = {
      "server-ready": "Jupyter サーバーに接続しました",
      "session-ready": "カーネルの準備ができました。セルの run で実行できます",
      "building": "Binder で環境を準備しています (数分かかることがあります)",
      "launching": "カーネルを起動しています",
    };
    const text = messages[data.status] || `Live Code: ${data.status}`;
    DLCOURSE_LIVE.setStatus(text, data.status);
  });
  // bootstrap() puts its own useBinder: true above the page's settings, so pass
  // the page's choice on (`make live` sets it to false). No MathJax 2 for
  // Thebe's own LaTeX rendering: it would come from a CDN.
  const useBinder = thebe.getPageConfig().useBinder !== false;
  thebe
    .bootstrap({ requestKernel: true, useBinder: useBinder, mathjaxUrl: false })
    .then(() => DLCOURSE_LIVE.setStatus("カーネルの準備ができました。セルの run で実行できます", "ready"))
    .catch((error) => {
      console.warn("[live-code] Thebe could not start:", error);
      DLCOURSE_LIVE.setStatus("Live Code を開始できませんでした (接続先を確認してください)", "failed");
    });
};

/**
 * Thebe's widget manager fetches require.js from a CDN address written into
 * its bundle; answer that one request with the book's local copy instead.
 */
var serveThebeCdnLocally = () => {
  const local = {
    "https://cdnjs.cloudflare.com/ajax/libs/require.js/2.3.6/require.min.js":
      DLCOURSE_LIVE.staticUrl("requirejs/require.js"),
  };
  const fetchFromNetwork = window.fetch.bind(window);
  window.fetch = (resource, options) =>
    fetchFromNetwork(typeof resource === "string" && local[resource] ? local[resource] : resource, options);
};

var initThebe = () => {
  if (DLCOURSE_LIVE.started) return;
  DLCOURSE_LIVE.started = true;
  serveThebeCdnLocally();
  DLCOURSE_LIVE.setStatus("Live Code を準備しています…", "loading");
  prepareCellsForThebe();
  const css = document.createElement("link");
  css.rel = "stylesheet";
  css.href = DLCOURSE_LIVE.staticUrl("thebe/thebe.css");
  document.head.appendChild(css);
  const script = document.createElement("script");
  script.src = DLCOURSE_LIVE.staticUrl("thebe/index.js");
  script.addEventListener("load", startThebe);
  document.head.appendChild(script);
};
