/**
 * Accessibility fixes of the theme's nodes that no template of the book can reach (issue 17).
 *
 * pydata-sphinx-theme builds the sidebar's collapsible sections in Python
 * (toctree.py: a <summary> holding only a chevron icon), and sphinx-book-theme
 * and Sphinx write a few labels in English that their Japanese catalogs leave
 * untranslated. The components that are templates (search field and button,
 * colour-mode button, book title) are overridden in _templates/ instead.
 * Loaded on every page (_config.yml: html_js_files); it only sets attributes.
 */
"use strict";

(() => {
  // English label -> Japanese, for aria-label, title and placeholder attributes.
  const JAPANESE = {
    Main: "本の目次",
    Page: "このページの目次",
    "Launch interactive content": "ノートブックを開く (Binder・Colab・Live Code)",
    "Launch on Binder": "Binder で開く",
    "Launch on Colab": "Colab で開く",
    "Launch Thebe": "このページのコードを Live Code で実行する",
    "Search this book...": "この本を検索...",
    "Link to this heading": "この見出しへのリンク",
    "Toggle primary sidebar": "本の目次を表示・非表示",
    "Toggle secondary sidebar": "このページの目次を表示・非表示",
  };
  const ATTRIBUTES = ["aria-label", "title", "data-bs-title", "data-bs-original-title", "placeholder"];

  function translateLabels(root) {
    for (const name of ATTRIBUTES) {
      root.querySelectorAll(`[${name}]`).forEach((element) => {
        const japanese = JAPANESE[element.getAttribute(name).trim()];
        if (japanese) element.setAttribute(name, japanese);
      });
    }
    // Logos beside their own text ("Binder", "Colab") say nothing more: decorative.
    root.querySelectorAll(".btn__icon-container img").forEach((img) => {
      const text = img.closest(".btn")?.querySelector(".btn__text-container")?.textContent.trim();
      if (text) {
        img.setAttribute("alt", "");
        img.setAttribute("role", "presentation");
      }
    });
  }

  // A sidebar section's toggle is named after the section it opens (WCAG 4.1.2).
  function nameSectionToggles(root) {
    root.querySelectorAll("nav.bd-links li.has-children > details > summary").forEach((summary) => {
      if (summary.textContent.trim() || summary.hasAttribute("aria-label")) return;
      const link = summary.closest("li").querySelector(":scope > a");
      const title = link ? link.textContent.trim() : "";
      if (title) summary.setAttribute("aria-label", `${title} の節の一覧`);
    });
  }

  function fix() {
    translateLabels(document);
    nameSectionToggles(document);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", fix);
  } else {
    fix();
  }
  // Bootstrap's tooltips copy a title into data-bs-original-title after DOMContentLoaded.
  window.addEventListener("load", fix);
})();
