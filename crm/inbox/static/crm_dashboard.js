// The CRM dashboard's charts with the locally served Chart.js: each canvas draws the JSON block named by
// its data-source ({"labels": [...], "series": [{"label", "data"}]}), one dataset per series.
(function () {
  "use strict";
  if (!window.Chart) { return; }
  var palette = ["#0f766e", "#2563eb", "#d97706", "#dc2626", "#7c3aed", "#059669", "#db2777", "#4b5563"];
  document.querySelectorAll("canvas[data-crm-chart]").forEach(function (canvas) {
    var node = document.getElementById(canvas.dataset.source);
    if (!node) { return; }
    var spec = JSON.parse(node.textContent);
    var kind = canvas.dataset.crmChart;
    canvas.chart = new window.Chart(canvas, {
      type: kind,
      data: {labels: spec.labels, datasets: spec.series.map(function (series, i) {
        return {label: series.label, data: series.data, backgroundColor: palette[i % palette.length],
                borderColor: palette[i % palette.length], fill: false, tension: 0.3, cubicInterpolationMode: "monotone"};
      })},
      options: {responsive: true, maintainAspectRatio: false, animation: false, spanGaps: true,
        scales: {y: {beginAtZero: true, ticks: {precision: 0}}},
        plugins: {legend: {display: spec.series.length > 1}}}
    });
    canvas.dataset.drawn = "1";  // the browser test waits for this
  });
})();
