// Draws every chart whose figure the page embeds as JSON (no inline script, no CDN).
(function () {
  if (!window.Plotly) { return; }
  document.querySelectorAll("[data-figure]").forEach(function (el) {
    var spec = JSON.parse(document.getElementById(el.dataset.figure).textContent);
    window.Plotly.newPlot(el, spec.data, spec.layout, { displaylogo: false, responsive: true });
  });
})();
