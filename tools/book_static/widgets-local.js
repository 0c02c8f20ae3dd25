/**
 * Settings for the ipywidgets HTML manager (embed-amd.js), which shows the
 * widget state saved in a static page. Loaded between require.js and
 * embed-amd.js (nb_ipywidgets_js in _config.yml).
 */
"use strict";

(() => {
  // The manager's modules find their fonts and styles next to themselves
  // (module.uri): map their names onto the book's local copy.
  const local = document.documentElement.dataset.content_root + "_static/html-manager";
  window.require.config({
    paths: {
      "@jupyter-widgets/html-manager/dist": local,
      "@jupyter-widgets": local,
    },
  });

  // Widget labels are typeset with the MathJax 2 API (MathJax.Hub.Queue);
  // the book loads MathJax 3, so translate the one call the widgets make.
  document.addEventListener("DOMContentLoaded", () => {
    const mathjax = window.MathJax;
    if (!mathjax || mathjax.Hub) return;
    mathjax.Hub = {
      Queue: (...jobs) => {
        jobs.forEach((job) => {
          if (!Array.isArray(job) || job[0] !== "Typeset" || !job[2]) return;
          mathjax.startup.promise
            .then(() => mathjax.typesetPromise([job[2]]))
            .catch((error) => console.warn("[widgets] MathJax could not typeset a label:", error));
        });
      },
    };
  });
})();
