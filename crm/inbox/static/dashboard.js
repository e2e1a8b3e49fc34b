// Dashboard charts with the locally served Chart.js (installed from npm by `make install`).
(function () {
  "use strict";
  if (!window.Chart) { return; }
  // Each canvas charts one series of the JSON block named by its data-source (the support figures by default).
  function figures(source) {
    var node = document.getElementById(source || "dashboard-data");
    return node ? JSON.parse(node.textContent) : {};
  }
  var palette = ["#0f766e", "#2563eb", "#d97706", "#dc2626", "#7c3aed", "#059669", "#db2777", "#4b5563", "#0891b2", "#65a30d"];
  document.querySelectorAll("canvas[data-chart]").forEach(function (canvas) {
    var series = figures(canvas.dataset.source)[canvas.dataset.key] || {};
    var labels = Object.keys(series);
    var shown = canvas.dataset.labels ? JSON.parse(canvas.dataset.labels) : labels;  // days in the staff's words
    var kind = canvas.dataset.chart;
    var colors = canvas.dataset.colors ? JSON.parse(canvas.dataset.colors) : palette;
    new window.Chart(canvas, {
      type: kind,
      data: {labels: shown, datasets: [{data: labels.map(function (k) { return series[k]; }),
        backgroundColor: kind === "line" ? "rgba(15,118,110,.2)" : colors, borderColor: kind === "line" ? "#0f766e" : colors,
        fill: kind === "line", tension: 0.3, cubicInterpolationMode: "monotone"}]},  // monotone: no overshoot
      options: {responsive: true, maintainAspectRatio: false, animation: false, spanGaps: true,
        scales: kind === "doughnut" ? undefined : {y: canvas.dataset.max ? {min: 0, max: Number(canvas.dataset.max)}
                                                                       : {beginAtZero: true, ticks: {precision: 0}}},
        plugins: {legend: {display: kind === "doughnut"}}}
    });
  });
})();
