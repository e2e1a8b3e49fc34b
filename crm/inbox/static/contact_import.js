// The import screen: the mapping's custom field boxes, and the progress bar that polls the progress JSON until the import is done, failed or stalled.
(function () {
  "use strict";
  // The custom field's name box shows only when "custom field" is chosen for its column.
  document.querySelectorAll("#import-mapping select").forEach(function (select) {
    select.addEventListener("change", function () {
      var box = select.parentNode.querySelector("input");
      box.hidden = select.value !== "custom";
      if (!box.hidden) box.focus();
    });
  });
  var box = document.getElementById("progress");
  if (!box) return;
  var words = JSON.parse(document.getElementById("import-words").textContent);
  var bar = document.getElementById("import-bar");

  function show(state) {
    bar.value = state.percent;
    document.getElementById("import-percent").textContent = state.percent + " %";
    document.getElementById("import-rows").textContent =
      words.rows.replace("{done}", state.done).replace("{total}", state.total);
    document.getElementById("import-summary").textContent = state.summary;
    document.getElementById("import-error").textContent = state.error;
    var report = document.getElementById("import-report");
    report.hidden = !state.report;
    document.getElementById("import-continue").hidden = !(state.status === "stalled" || state.status === "failed");
    box.dataset.status = state.status;
  }

  function poll() {
    fetch(box.dataset.url, {headers: {"X-Requested-With": "fetch", "Accept": "application/json"}, credentials: "same-origin"})
      .then(function (response) { return response.json(); })
      .then(function (state) {
        show(state);
        if (state.status === "queued" || state.status === "running") setTimeout(poll, 700);
      })
      .catch(function () { setTimeout(poll, 3000); });
  }
  poll();
})();
