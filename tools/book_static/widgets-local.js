/**
 * Settings for the ipywidgets HTML manager (embed-amd.js), which shows the
 * widget state saved in a static page. Loaded between require.js and
 * embed-amd.js (nb_ipywidgets_js in _config.yml). The accessibility part at
 * the end also serves Live Code (Thebe renders its widgets into this page).
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

  // embed-amd.js (@jupyter-widgets/html-manager 1.0.15, the latest release)
  // compiles the widget state and view schemas (@jupyter-widgets/schema v2)
  // with `new Ajv()` and Ajv 8's default strictTypes "log": each schema's
  // `"type": [...]` unions log "strict mode: use allowUnionTypes to allow
  // union type keyword at "<schema path>" (strictTypes)" once, before any
  // widget exists. The schemas are valid
  // (Ajv compiles them); the bundle gives no way to pass allowUnionTypes, so
  // exactly these two lines are dropped (a module the manager loads
  // later compiles one of them again, so the filter stays).
  const AJV_UNION_NOTICE = "strict mode: use allowUnionTypes to allow union type keyword";
  const warn = console.warn;
  console.warn = (...args) => {
    if (typeof args[0] === "string" && args[0].startsWith(AJV_UNION_NOTICE)) return;
    warn.apply(console, args);
  };

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

  // Accessibility of the sliders (WCAG 4.1.2): noUiSlider's handle
  // (div.noUi-handle[role=slider]) has no name and announces its raw value,
  // e.g. the index 3 of a selection slider whose readout says 0.005, or
  // 0.10000000000000009. Name each handle by its visible label
  // (aria-labelledby) and give it the readout as aria-valuetext; the readout,
  // which can be edited, gets a name too. Kept up to date as values change.
  let labelCount = 0;
  const setAttribute = (element, name, value) => {
    if (value && element.getAttribute(name) !== value) element.setAttribute(name, value);
  };
  const labelSlider = (slider) => {
    const label = slider.querySelector(":scope > .widget-label");
    const handle = slider.querySelector(".noUi-handle[role=slider]");
    const readout = slider.querySelector(".widget-readout");
    if (!label || !handle) return;
    if (!label.id) label.id = `dlcourse-slider-label-${++labelCount}`;
    setAttribute(handle, "aria-labelledby", label.id);
    const text = label.textContent.trim();
    if (readout) {
      setAttribute(handle, "aria-valuetext", readout.textContent.trim());
      setAttribute(readout, "aria-label", `${text} の値`);
    }
  };
  const labelAll = () => document.querySelectorAll(".widget-slider").forEach(labelSlider);
  let pending = false;
  const observer = new MutationObserver(() => {
    if (pending) return;
    pending = true;
    queueMicrotask(() => {
      pending = false;
      labelAll();
    });
  });
  document.addEventListener("DOMContentLoaded", () => {
    labelAll();
    observer.observe(document.body, {
      subtree: true,
      childList: true,
      characterData: true,
      attributes: true,
      attributeFilter: ["aria-valuenow"],
    });
  });
})();
