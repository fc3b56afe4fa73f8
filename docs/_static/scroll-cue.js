// Marks every box that scrolls sideways with the side it has more on, so that the page shows it (site.css).
(function () {
  const SELECTOR = "div.math, .table-wrapper, .diagram-scroll, .engine-plot, div.highlight pre";

  function mark(box) {
    const more = box.scrollWidth - box.clientWidth > 1;
    box.classList.toggle("scroll-cue", more);
    box.classList.toggle("more-right", more && box.scrollLeft + box.clientWidth < box.scrollWidth - 1);
    box.classList.toggle("more-left", more && box.scrollLeft > 1);
  }

  function markAll() {
    document.querySelectorAll(SELECTOR).forEach(mark);
  }

  document.addEventListener("scroll", (event) => {
    if (event.target instanceof Element && event.target.matches(SELECTOR)) mark(event.target);
  }, true);
  window.addEventListener("resize", markAll);
  window.addEventListener("load", () => {
    markAll();
    if (window.MathJax && MathJax.startup && MathJax.startup.promise) MathJax.startup.promise.then(markAll);
  });
})();
