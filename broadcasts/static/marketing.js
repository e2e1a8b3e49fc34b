// The marketer's screens: rule builder with live audience count, campaign previews, result charts.
// Everything customer- or marketer-typed is put into the page with textContent, never as HTML.
(function () {
  "use strict";
  var csrf = (document.querySelector('meta[name="csrf-token"]') || {}).content || "";

  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (key) {
      if (key === "text") { node.textContent = attrs[key]; } else if (key === "cls") { node.className = attrs[key]; }
      else { node.setAttribute(key, attrs[key]); }
    });
    (children || []).forEach(function (child) { if (child) { node.appendChild(child); } });
    return node;
  }

  function debounce(fn, ms) {
    var timer = null;
    return function () { clearTimeout(timer); timer = setTimeout(fn, ms); };
  }

  function post(url, body, isForm) {
    var headers = {"X-CSRFToken": csrf, "X-Requested-With": "fetch"};
    if (!isForm) { headers["Content-Type"] = "application/json"; }
    return fetch(url, {method: "POST", credentials: "same-origin", headers: headers,
                       body: isForm ? new URLSearchParams(new FormData(body)) : JSON.stringify(body)});
  }

  function showErrors(list, errors) {
    if (!list) { return; }
    list.textContent = "";
    (errors || []).forEach(function (e) { list.appendChild(el("li", {text: (e.field ? e.field + ": " : "") + e.message})); });
  }

  // Forms that ask before they act (cancel, delete).
  document.querySelectorAll("form[data-confirm]").forEach(function (form) {
    form.addEventListener("submit", function (event) {
      if (!window.confirm(form.dataset.confirm)) { event.preventDefault(); }
    });
  });

  // --- the rule builder ---------------------------------------------------------------------
  function RuleBuilder(root) {
    var config = JSON.parse(document.getElementById(root.dataset.config).textContent);
    var textarea = document.getElementById(root.dataset.target);
    var live = document.getElementById(root.dataset.live);
    var T = config.texts;
    var state;

    function parse() {
      var value;
      try { value = JSON.parse(textarea.value || "{}"); } catch (e) { value = {all: []}; }
      if (!value || typeof value !== "object" || Array.isArray(value)) { value = {all: []}; }
      if (!value.all && !value.any) { value = value.field ? {all: [value]} : {all: []}; }
      return value;
    }

    function kindOf(field) { return config.fields[field] || "text"; }

    function defaultValue(field, op) {
      var kind = kindOf(field);
      if (kind.indexOf("choice:") === 0) { return op === "in" ? [kind.slice(7).split(",")[0]] : kind.slice(7).split(",")[0]; }
      if (kind === "number") { return op === "in" ? [1] : 1; }
      if (kind === "near") { return config.stores.length ? {store_id: config.stores[0].id, km: 5} : {lat: -6.2, lon: 106.8, km: 5}; }
      if (kind === "offer") { return config.offers.length ? config.offers[0].id : 0; }
      if (kind === "date") { return config.today; }
      var names = kind === "product" ? config.products : (kind === "category" ? config.categories : []);
      if (names && names.length && op !== "in") { return names[0]; }
      return op === "in" ? [""] : "";
    }

    function newRule() {
      var field = "channel", op = config.ops[field][0];
      return {field: field, op: op, value: defaultValue(field, op)};
    }

    function select(options, current, label, onchange) {
      var node = el("select", {"aria-label": label});
      options.forEach(function (option) {
        var item = el("option", {value: option[0], text: option[1]});
        if (String(option[0]) === String(current)) { item.selected = true; }
        node.appendChild(item);
      });
      node.addEventListener("change", function () { onchange(node.value); });
      return node;
    }

    function input(type, value, label, onchange, cls) {
      var node = el("input", {type: type, "aria-label": label, cls: cls || ""});
      if (type === "number") { node.step = "any"; }  // churn risk is a fraction (0.7)
      node.value = value === undefined || value === null ? "" : value;
      node.addEventListener("input", function () { onchange(node.value); });
      return node;
    }

    function valueEditor(rule) {
      var kind = kindOf(rule.field), label = config.field_labels[rule.field] || rule.field;
      var list = rule.op === "in";
      function set(value) { rule.value = value; changed(false); }
      if (kind === "near") {
        var v = rule.value && typeof rule.value === "object" ? rule.value : defaultValue("near");
        var box = el("span", {cls: "near"});
        var choices = config.stores.map(function (s) { return [s.id, T.near_store + ": " + s.name]; }).concat([["point", T.near_point]]);
        var point = v.store_id === undefined;
        box.appendChild(select(choices, point ? "point" : v.store_id, label, function (picked) {
          rule.value = picked === "point" ? {lat: -6.2, lon: 106.8, km: v.km || 5} : {store_id: Number(picked), km: v.km || 5};
          changed(true);
        }));
        if (point) {
          box.appendChild(input("number", v.lat, "lat", function (x) { v.lat = Number(x); set(v); }, "short"));
          box.appendChild(input("number", v.lon, "lon", function (x) { v.lon = Number(x); set(v); }, "short"));
        }
        box.appendChild(input("number", v.km, T.km, function (x) { v.km = Number(x); set(v); }, "short"));
        box.appendChild(el("span", {text: T.km, cls: "muted"}));
        return box;
      }
      if (kind === "offer") {
        return select(config.offers.map(function (o) { return [o.id, o.name]; }), rule.value, label,
                      function (picked) { set(Number(picked)); });
      }
      if (kind.indexOf("choice:") === 0 && !list) {
        var words = (config.choice_labels || {})[rule.field] || {};
        return select(kind.slice(7).split(",").map(function (c) { return [c, words[c] || c]; }), rule.value, label, set);
      }
      var names = kind === "product" ? config.products : (kind === "category" ? config.categories : null);
      if (names && names.length && !list) {  // picked from the catalog, not typed
        var known = names.indexOf(rule.value) >= 0 ? names : [rule.value].concat(names);
        return select(known.map(function (n) { return [n, n]; }), rule.value, label, set);
      }
      var shown = list ? [].concat(rule.value || []).join(", ") : rule.value;
      var type = list ? "text" : (kind === "number" ? "number" : (kind === "date" ? "date" : "text"));
      var typed = input(type, shown, label, function (raw) {
        if (list) {
          var items = raw.split(",").map(function (s) { return s.trim(); }).filter(Boolean);
          set(kind === "number" ? items.map(Number) : items);
        } else {
          set(kind === "number" && raw !== "" ? Number(raw) : raw);
        }
      });
      if (names) {  // a list of catalog names: the browser suggests them as they are typed
        var listId = "catalog-" + kind;
        if (!document.getElementById(listId)) {
          var datalist = el("datalist", {id: listId});
          names.forEach(function (n) { datalist.appendChild(el("option", {value: n})); });
          document.body.appendChild(datalist);
        }
        typed.setAttribute("list", listId);
      }
      return typed;
    }

    function ruleRow(rule, parent, index) {
      var row = el("div", {cls: "rule"});
      var fields = Object.keys(config.fields).map(function (f) { return [f, config.field_labels[f] || f]; });
      row.appendChild(select(fields, rule.field, "field", function (field) {
        rule.field = field;
        if (config.ops[field].indexOf(rule.op) < 0) { rule.op = config.ops[field][0]; }
        rule.value = defaultValue(field, rule.op);
        changed(true);
      }));
      row.appendChild(select(config.ops[rule.field].map(function (o) { return [o, config.op_labels[o] || o]; }), rule.op, "op",
                             function (op) { var wasList = rule.op === "in"; rule.op = op;
                               if (wasList !== (op === "in")) { rule.value = defaultValue(rule.field, op); } changed(true); }));
      row.appendChild(valueEditor(rule));
      var remove = el("button", {type: "button", cls: "link", text: T.remove, "aria-label": T.remove});
      remove.addEventListener("click", function () { parent.splice(index, 1); changed(true); });
      row.appendChild(remove);
      return row;
    }

    function group(node, depth, parent, index) {
      var mode = node.any ? "any" : "all";
      var items = node[mode];
      var box = el("div", {cls: "group depth-" + depth});
      var head = el("div", {cls: "group-head"});
      head.appendChild(select([["all", T.match_all], ["any", T.match_any]], mode, "group", function (picked) {
        node[picked] = items; if (picked !== mode) { delete node[mode]; } changed(true);
      }));
      if (parent) {
        var remove = el("button", {type: "button", cls: "link", text: T.remove});
        remove.addEventListener("click", function () { parent.splice(index, 1); changed(true); });
        head.appendChild(remove);
      }
      box.appendChild(head);
      items.forEach(function (child, i) {
        box.appendChild(child.all || child.any ? group(child, depth + 1, items, i) : ruleRow(child, items, i));
      });
      var add = el("div", {cls: "group-add"});
      var addRule = el("button", {type: "button", text: T.add_rule, cls: "add-rule"});
      addRule.addEventListener("click", function () { items.push(newRule()); changed(true); });
      add.appendChild(addRule);
      if (depth < 2) {
        var addGroup = el("button", {type: "button", text: T.add_group, cls: "add-group"});
        addGroup.addEventListener("click", function () { items.push({any: [newRule()]}); changed(true); });
        add.appendChild(addGroup);
      }
      box.appendChild(add);
      return box;
    }

    function render() { root.textContent = ""; root.appendChild(group(state, 0, null, 0)); }

    var count = live.querySelector("[data-count]");
    var errors = live.querySelector("[data-errors]");
    var sample = live.querySelector("[data-sample]") || document.querySelector('[data-sample-for="' + live.id + '"]');
    var refresh = debounce(function () {
      count.textContent = T.counting;
      var sent = textarea.value;
      post(root.dataset.preview, {rules: state}).then(function (response) {
        return response.json().then(function (body) { return {status: response.status, body: body}; });
      }).then(function (result) {
        if (textarea.value !== sent) { return; }  // an answer for older rules
        if (result.status === 200) {
          count.textContent = result.body.count;
          live.dataset.count = result.body.count;
          showErrors(errors, []);
          if (sample) {
            sample.textContent = "";
            result.body.sample.forEach(function (c) {
              var item = el("li", {}, [el("a", {href: c.url, text: c.name})]);
              c.channels.forEach(function (ch) { item.appendChild(el("span", {cls: "ch ch-" + ch, text: ch})); });
              item.appendChild(el("small", {cls: "muted", text: " " + c.last_seen}));
              sample.appendChild(item);
            });
          }
        } else {
          count.textContent = "—";
          live.dataset.count = "";
          showErrors(errors, result.body.details && result.body.details.length ? result.body.details : [{message: result.body.error}]);
        }
      }).catch(function () { count.textContent = "—"; });
    }, 350);

    function changed(redraw) {
      textarea.value = JSON.stringify(state);
      if (redraw) { render(); }
      textarea.dispatchEvent(new Event("rules-changed", {bubbles: true}));
      refresh();
    }

    textarea.addEventListener("change", function () { state = parse(); render(); refresh(); });
    state = parse();
    render();
    refresh();
  }
  document.querySelectorAll(".rule-builder").forEach(function (root) { RuleBuilder(root); });

  // --- the campaign form ----------------------------------------------------------------------
  function lineBubbles(target, replies) {
    target.textContent = "";
    (replies || []).forEach(function (reply) {
      if (reply.cards && reply.cards.length) {
        reply.cards.forEach(function (card) {
          var bubble = el("div", {cls: "lb-bubble lb-card"});
          if (card.image_url) { bubble.appendChild(el("img", {src: card.image_url, alt: ""})); }
          bubble.appendChild(el("p", {text: card.title}));
          (card.buttons || []).forEach(function (b) { bubble.appendChild(el("span", {cls: "flex-button", text: b.label})); });
          target.appendChild(bubble);
        });
      } else if (reply.image_url && !reply.text) {
        target.appendChild(el("div", {cls: "lb-bubble lb-image"}, [el("img", {src: reply.image_url, alt: ""})]));
      } else if (reply.text) {
        target.appendChild(el("div", {cls: "lb-bubble", text: reply.text}));
      }
      if (reply.choices && reply.choices.length) {
        target.appendChild(el("div", {cls: "quick-replies"}, reply.choices.map(function (c) {
          return el("span", {cls: "chip", text: c.label});
        })));
      }
    });
  }

  function telegramMessage(target, replies) {
    target.textContent = "";
    (replies || []).forEach(function (reply) {
      var message = el("div", {cls: "tg-message"});
      if (reply.image_url) { message.appendChild(el("img", {src: reply.image_url, alt: ""})); }
      message.appendChild(el("p", {text: reply.text}));
      target.appendChild(message);
      if (reply.choices && reply.choices.length) {
        target.appendChild(el("div", {cls: "inline-keyboard"}, reply.choices.map(function (c) {
          return el("span", {cls: "tg-button" + (c.url ? " url" : ""), text: c.label});
        })));
      }
    });
  }

  var campaignForm = document.getElementById("campaign-form");
  if (campaignForm) {
    var lastFocus = null;
    campaignForm.addEventListener("focusin", function (event) {
      if (event.target.tagName === "TEXTAREA" && event.target.name.indexOf("text") === 0) { lastFocus = event.target; }
    });
    campaignForm.querySelectorAll("[data-insert]").forEach(function (button) {
      button.addEventListener("click", function () {
        var target = lastFocus || campaignForm.querySelector("textarea[name=text]");
        var at = target.selectionStart || target.value.length;
        target.value = target.value.slice(0, at) + button.dataset.insert + target.value.slice(at);
        target.focus();
        preview();
      });
    });
    campaignForm.querySelectorAll("[data-cron]").forEach(function (button) {
      button.addEventListener("click", function () {
        campaignForm.querySelector("input[name=recurrence]").value = button.dataset.cron;
        campaignForm.querySelector("input[name=when][value=cron]").checked = true;
        preview();
      });
    });
    var ab = document.getElementById("ab");
    var abFields = document.getElementById("ab-fields");
    var toggleAb = function () { abFields.hidden = !ab.checked; document.getElementById("preview-b").hidden = !ab.checked; };
    ab.addEventListener("change", toggleAb);
    toggleAb();

    var preview = debounce(function () {
      post(campaignForm.dataset.preview, campaignForm, true).then(function (r) { return r.json(); }).then(function (body) {
        showErrors(document.getElementById("preview-errors"), body.errors);
        if (body.render) { lineBubbles(document.getElementById("preview-line"), body.render.line);
          telegramMessage(document.getElementById("preview-telegram"), body.render.telegram); }
        if (body.render_b) { lineBubbles(document.getElementById("preview-line-b"), body.render_b.line);
          telegramMessage(document.getElementById("preview-telegram-b"), body.render_b.telegram); }
        var runs = document.getElementById("next-runs");
        runs.textContent = "";
        (body.next_runs || []).forEach(function (when) { runs.appendChild(el("div", {text: "→ " + when})); });
        var audience = document.getElementById("preview-audience");
        audience.textContent = body.audience === undefined ? "" :
          body.audience + " · LINE " + body.line_audience;
        var warning = document.getElementById("quota-warning");
        if (body.quota_warning) { warning.textContent = body.quota_warning; warning.hidden = false; }
        else if (!document.getElementById("confirm-quota")) { warning.hidden = true; }
      }).catch(function () {});
    }, 400);
    campaignForm.addEventListener("input", preview);
    campaignForm.addEventListener("change", preview);
    campaignForm.addEventListener("rules-changed", preview);
    preview();
  }

  // --- results charts (Chart.js served locally) --------------------------------------------------
  var chartData = document.getElementById("campaign-charts");
  if (chartData && window.Chart) {
    var charts = JSON.parse(chartData.textContent);
    // [[key, value], ...]: a list, so the funnel keeps its order (JSON objects are sorted by key).
    new window.Chart(document.getElementById("chart-funnel"), {
      type: "bar",
      data: {labels: charts.funnel.map(function (pair) { return charts.labels[pair[0]] || pair[0]; }),
             datasets: [{data: charts.funnel.map(function (pair) { return pair[1]; }),
                         backgroundColor: ["#94a3b8", "#0f766e", "#2563eb", "#d97706", "#7c3aed"]}]},
      options: {indexAxis: "y", responsive: true, maintainAspectRatio: false, animation: false, plugins: {legend: {display: false}}}
    });
    var colours = {sent: "#0f766e", failed: "#dc2626", unknown: "#d97706", blocked: "#4b5563", clicked: "#2563eb"};
    new window.Chart(document.getElementById("chart-series"), {
      type: "line",
      data: {labels: charts.series.map(function (p) { return p.label || p.t; }),
             datasets: Object.keys(colours).map(function (k) {
               return {label: charts.labels[k] || k, data: charts.series.map(function (p) { return p[k]; }),
                       borderColor: colours[k], backgroundColor: colours[k], tension: 0.3};
             })},
      options: {responsive: true, maintainAspectRatio: false, animation: false}
    });
  }

})();
