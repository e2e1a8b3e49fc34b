// Sapa inbox: live updates (server-sent events), alerts, presence, canned replies, SLA timers.
// Customer-supplied text only ever arrives as server-rendered, escaped HTML fragments or is
// written with textContent: nothing here builds markup from data.
(function () {
  "use strict";
  var csrf = (document.querySelector('meta[name="csrf-token"]') || {}).content || "";
  var texts = {};
  try { texts = JSON.parse(document.getElementById("i18n").textContent); } catch (e) { texts = {}; }
  function tr(key, values) {
    var s = texts[key] || key;
    Object.keys(values || {}).forEach(function (k) { s = s.split("{" + k + "}").join(values[k]); });
    return s;
  }
  function post(url, body) {
    return fetch(url, {method: "POST", credentials: "same-origin",
      headers: {"Content-Type": "application/json", "X-CSRFToken": csrf, "X-Requested-With": "fetch"},
      body: JSON.stringify(body || {})});
  }
  function get(url) {
    return fetch(url, {credentials: "same-origin", headers: {"X-Requested-With": "fetch"}})
      .then(function (r) { if (!r.ok) { throw new Error(r.status); } return r.text(); });
  }

  var pane = document.getElementById("conversation");
  var timeline = document.getElementById("timeline");
  var listPane = document.getElementById("list-pane");
  var listBody = document.getElementById("list-body");
  var conversationId = pane ? pane.dataset.id : null;
  var related = pane ? (pane.dataset.conversations || "").split(",") : [];
  var contactId = pane ? pane.dataset.contact : "";

  function lastMessageId() {
    var items = timeline ? timeline.querySelectorAll("li[data-id]") : [];
    var max = 0;
    items.forEach(function (li) { max = Math.max(max, parseInt(li.dataset.id, 10) || 0); });
    return max;
  }
  function scrollDown() { if (timeline) { timeline.scrollTop = timeline.scrollHeight; } }
  scrollDown();

  var fetchingMessages = false, again = false;
  function refreshMessages() {
    if (!pane) { return; }
    if (fetchingMessages) { again = true; return; }
    fetchingMessages = true;
    get(pane.dataset.messagesUrl + "?after=" + lastMessageId()).then(function (html) {
      var holder = document.createElement("ol");
      holder.innerHTML = html;  // escaped by the server's templates
      Array.prototype.slice.call(holder.children).forEach(function (li) {
        if (!li.dataset.id || !timeline.querySelector('li[data-id="' + li.dataset.id + '"]')) { timeline.appendChild(li); }
      });
      scrollDown();
    }).catch(function () {}).then(function () {
      fetchingMessages = false;
      if (again) { again = false; refreshMessages(); }
    });
  }

  var listTimer = null;
  function refreshList() {
    if (!listPane || !listBody) { return; }
    clearTimeout(listTimer);
    listTimer = setTimeout(function () {
      get(listPane.dataset.listUrl).then(function (html) { listBody.innerHTML = html; }).catch(function () {});
    }, 300);
  }

  function setStatus(data) {
    if (!timeline) { return; }
    var li = timeline.querySelector('li[data-id="' + data.id + '"]');
    if (!li) { refreshMessages(); return; }
    var badge = li.querySelector(".delivery");
    if (badge) {
      badge.textContent = tr("delivery_" + data.status);
      badge.className = "delivery st-" + data.status;
      badge.dataset.status = data.status;
    }
    var err = li.querySelector(".error-text");
    if (data.error) {
      if (!err) { err = document.createElement("span"); err.className = "error-text"; badge.parentNode.appendChild(err); }
      err.textContent = data.error;
    } else if (err) { err.remove(); }
  }

  var presenceBox = document.getElementById("presence");
  function showPresence(others) {
    if (!presenceBox) { return; }
    presenceBox.textContent = "";
    (others || []).forEach(function (o) {
      var span = document.createElement("span");
      span.className = "who-else " + o.state;
      span.textContent = tr(o.state === "typing" ? "presence_typing" : "presence_viewing", {name: o.name});
      presenceBox.appendChild(span);
    });
  }

  // Alerts: the top bar's count and panel, kept live; for a new high-severity alert on a chat
  // assigned to this staff member, or to nobody, a short sound and, when they opted in, a
  // browser notification.
  var alertsToggle = document.getElementById("alerts-toggle");
  var alertsCount = document.getElementById("alerts-count");
  var alertsPanel = document.getElementById("alerts-panel");
  var alertsBody = document.getElementById("alerts-body");
  var notifyButton = document.getElementById("alerts-notify");
  function refreshAlerts() {
    if (!alertsPanel || alertsPanel.hidden) { return; }
    var next = encodeURIComponent(location.pathname + location.search);
    get(alertsPanel.dataset.url + "?next=" + next).then(function (html) { alertsBody.innerHTML = html; }).catch(function () {});
  }
  function setAlertCount(count) {
    if (!alertsCount) { return 0; }
    var before = parseInt(alertsCount.dataset.count, 10) || 0;
    alertsCount.textContent = String(count);
    alertsCount.dataset.count = String(count);
    alertsToggle.classList.toggle("has-new", count > 0);
    return before;
  }
  function ding() {
    try {
      var audio = new (window.AudioContext || window.webkitAudioContext)();
      var tone = audio.createOscillator(), gain = audio.createGain();
      tone.frequency.value = 880; gain.gain.value = 0.08;
      tone.connect(gain); gain.connect(audio.destination);
      tone.start(); tone.stop(audio.currentTime + 0.25);
    } catch (e) { /* no audio before the first click: the count still shows */ }
  }
  function notifyOn() {
    return window.Notification && Notification.permission === "granted" && localStorage.getItem("sapa.notify") === "1";
  }
  function showAlerts(data) {
    var before = setAlertCount(data.new);
    refreshAlerts();
    refreshList();
    if (data.new > before && data.for_me && (data.severity === "high" || data.severity === "critical")) {
      ding();
      if (notifyOn()) {
        new Notification(tr("alerts_notification_title", {kind: data.label}),
                         {body: tr("alerts_notification_body", {count: data.new}), tag: "sapa-alerts"});
      }
    }
  }
  if (alertsToggle && alertsPanel) {
    alertsToggle.addEventListener("click", function (e) {
      e.preventDefault();
      alertsPanel.hidden = !alertsPanel.hidden;
      alertsToggle.setAttribute("aria-expanded", String(!alertsPanel.hidden));
      refreshAlerts();
    });
    alertsPanel.addEventListener("submit", function (e) {
      var form = e.target;
      if (!form.classList.contains("alert-form")) { return; }
      e.preventDefault();
      post(form.action, {status: e.submitter ? e.submitter.value : "done"})
        .then(function (r) { return r.ok ? r.json() : null; })
        .then(function (body) { if (body) { setAlertCount(body.new); } refreshAlerts(); refreshList(); })
        .catch(function () {});
    });
    if (notifyButton && window.Notification && !notifyOn()) {
      notifyButton.hidden = false;
      notifyButton.addEventListener("click", function () {
        Notification.requestPermission().then(function (answer) {
          if (answer === "granted") { localStorage.setItem("sapa.notify", "1"); notifyButton.hidden = true; }
        });
      });
    }
  }

  var liveDot = document.getElementById("live-status");
  function live(state) {
    if (liveDot) { liveDot.dataset.state = state; liveDot.title = tr(state === "on" ? "live_connected" : "live_offline"); }
    document.body.dataset.live = state;
  }
  if (window.EventSource && (listPane || pane || alertsCount)) {
    var pending = [];
    document.querySelectorAll('.delivery[data-status="queued"], .delivery[data-status="sending"]').forEach(function (el) {
      var li = el.closest("li[data-id]");
      if (li) { pending.push(li.dataset.id); }
    });
    var url = "/inbox/events" + (conversationId ? "?conversation=" + conversationId + "&pending=" + pending.join(",") : "");
    var source = new EventSource(url);
    // A busy server answers with what is new and a later reconnect: still live, just slower.
    var busy = false;
    source.addEventListener("hello", function (e) { busy = JSON.parse(e.data).busy; live("on"); });
    source.addEventListener("error", function () { if (busy) { busy = false; } else { live("off"); } });
    source.addEventListener("message", function (e) {
      var data = JSON.parse(e.data);
      if (pane && (related.indexOf(String(data.conversation_id)) >= 0 || (contactId && String(data.contact_id) === contactId))) {
        refreshMessages();
      }
      refreshList();
    });
    source.addEventListener("conversation", function () { refreshList(); });
    source.addEventListener("status", function (e) { setStatus(JSON.parse(e.data)); });
    source.addEventListener("presence", function (e) { showPresence(JSON.parse(e.data)); });
    source.addEventListener("alerts", function (e) { showAlerts(JSON.parse(e.data)); });
  }

  // Presence: "viewing" every few seconds while the conversation is open, "typing" on input.
  if (pane) {
    var state = "viewing", typingUntil = 0;
    var beat = function () {
      if (Date.now() > typingUntil) { state = "viewing"; }
      post(pane.dataset.presenceUrl, {state: state}).then(function (r) { return r.ok ? r.json() : null; })
        .then(function (body) { if (body) { showPresence(body.others); } }).catch(function () {});
    };
    beat();
    setInterval(beat, 3000);
    var box = document.getElementById("reply-text");
    if (box) {
      box.addEventListener("input", function () {
        var wasTyping = state === "typing";
        state = "typing"; typingUntil = Date.now() + 4000;
        if (!wasTyping) { beat(); }
      });
    }
  }

  // Canned replies: put the template in the box (variables are filled in when sent).
  var canned = document.getElementById("canned");
  if (canned) {
    canned.addEventListener("change", function () {
      var option = canned.options[canned.selectedIndex];
      if (!option || !option.value) { return; }
      document.getElementById("reply-text").value = option.dataset.text || "";
      var quick = document.getElementById("quick-replies");
      if (quick) { quick.value = option.dataset.quick || ""; }
      document.getElementById("reply-text").focus();
    });
  }

  // Complaint SLA countdowns.
  function fmt(ms) {
    var m = Math.max(0, Math.round(ms / 60000));
    return m >= 60 ? Math.floor(m / 60) + "h " + (m % 60) + "m" : m + "m";
  }
  function timers() {
    document.querySelectorAll(".sla-timer").forEach(function (el) {
      var left = new Date(el.dataset.due).getTime() - Date.now();
      el.textContent = left > 0 ? fmt(left) : "0m";
      el.classList.toggle("soon", left < 3600000);
    });
  }
  timers();
  setInterval(timers, 30000);
})();
