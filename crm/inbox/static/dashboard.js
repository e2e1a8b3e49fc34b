// Dashboard charts with the locally served Chart.js (installed from npm by `make install`).
(function () {
  "use strict";
  var node = document.getElementById("dashboard-data");
  if (!node || !window.Chart) { return; }
  var figures = JSON.parse(node.textContent);
  var palette = ["#0f766e", "#2563eb", "#d97706", "#dc2626", "#7c3aed", "#059669", "#db2777", "#4b5563", "#0891b2", "#65a30d"];
  document.querySelectorAll("canvas[data-chart]").forEach(function (canvas) {
    var series = figures[canvas.dataset.key] || {};
    var labels = Object.keys(series);
    var shown = canvas.dataset.labels ? JSON.parse(canvas.dataset.labels) : labels;  // days in the staff's words
    var kind = canvas.dataset.chart;
    new window.Chart(canvas, {
      type: kind,
      data: {labels: shown, datasets: [{data: labels.map(function (k) { return series[k]; }),
        backgroundColor: kind === "line" ? "rgba(15,118,110,.2)" : palette, borderColor: kind === "line" ? "#0f766e" : palette,
        fill: kind === "line", tension: 0.3}]},
      options: {responsive: true, maintainAspectRatio: false, animation: false,
        plugins: {legend: {display: kind === "doughnut"}}}
    });
  });
})();
