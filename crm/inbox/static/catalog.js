// The catalog list: drag a product inside its category to change its place (HTML5 drag and drop),
// saved with a POST; the ↑/↓ buttons stay for keyboards and phones.
(function () {
  "use strict";
  var csrf = (document.querySelector('meta[name="csrf-token"]') || {}).content || "";
  var error = document.getElementById("reorder-error");
  var dragged = null;

  function arrows(list) {  // the first product cannot go up, the last not down
    var items = list.querySelectorAll("li.product");
    items.forEach(function (li, n) {
      var up = li.querySelector("button[value=up]"), down = li.querySelector("button[value=down]");
      if (up) { up.disabled = n === 0; }
      if (down) { down.disabled = n === items.length - 1; }
    });
  }

  function save(list, before) {
    var ids = Array.prototype.map.call(list.querySelectorAll("li.product"), function (li) {
      return parseInt(li.dataset.id, 10);
    });
    if (ids.join(",") === before) { return; }
    fetch(list.dataset.orderUrl, {method: "POST", credentials: "same-origin",
      headers: {"Content-Type": "application/json", "X-CSRFToken": csrf, "X-Requested-With": "fetch"},
      body: JSON.stringify({category: list.dataset.category, ids: ids})})
      .then(function (r) { return r.json().then(function (body) { return {ok: r.ok, body: body}; }); })
      .then(function (answer) {
        if (answer.ok) { error.hidden = true; return; }
        error.textContent = answer.body.error || "";
        error.hidden = false;
      });
  }

  document.querySelectorAll("ul.products[data-order-url]").forEach(function (list) {
    var before = "";
    list.addEventListener("dragstart", function (event) {
      var li = event.target.closest ? event.target.closest("li.product") : null;
      if (!li || li.parentNode !== list) { return; }
      dragged = li;
      before = Array.prototype.map.call(list.querySelectorAll("li.product"), function (x) { return x.dataset.id; }).join(",");
      li.classList.add("dragging");
      event.dataTransfer.effectAllowed = "move";
      event.dataTransfer.setData("text/plain", li.dataset.id);
    });
    list.addEventListener("dragover", function (event) {
      if (!dragged || dragged.parentNode !== list) { return; }  // only inside its own category
      event.preventDefault();
      var over = event.target.closest ? event.target.closest("li.product") : null;
      if (!over || over === dragged) { return; }
      var box = over.getBoundingClientRect();
      list.insertBefore(dragged, event.clientY > box.top + box.height / 2 ? over.nextSibling : over);
    });
    list.addEventListener("drop", function (event) { if (dragged) { event.preventDefault(); } });
    list.addEventListener("dragend", function () {
      if (!dragged) { return; }
      dragged.classList.remove("dragging");
      dragged = null;
      arrows(list);
      save(list, before);
    });
  });
})();
