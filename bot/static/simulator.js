// Customer simulator: posts customer actions to /simulator/api/send and polls the history.
(function () {
  "use strict";
  const $ = (id) => document.getElementById(id);
  const store = window.localStorage;
  let user = store.getItem("sapa.sim.user") || newUser();
  let lastId = 0;
  // Ids of the messages on screen: an answer that arrives twice (a retried or slow poll) is shown once.
  const shown = new Set();
  // One poll at a time: a poll asked for while one is out runs once, after it.
  let polling = false, pollAgain = false;
  // Follow new messages while the customer is at the end of the chat (or just sent one).
  let followEnd = true;

  function newUser() {
    const id = "sim-" + Math.random().toString(36).slice(2, 10);
    store.setItem("sapa.sim.user", id);
    return id;
  }

  function setStyle(style) {
    document.body.className = "style-" + style;
    store.setItem("sapa.sim.style", style);
  }

  // Like a platform: each action has an id, and one the server could not store (503) or
  // did not answer is sent again under that id, backing off, so it is stored exactly once.
  const RETRY_FIRST_MS = 1000, RETRY_MAX_MS = 15000, RETRY_FOR_MS = 5 * 60 * 1000;

  async function send(payload) {
    $("status").textContent = "";
    followEnd = true;  // whoever writes wants to see the answer
    scrollToEnd();
    const eventId = Date.now().toString(36) + "-" + Math.random().toString(36).slice(2, 12);
    const body = Object.assign({ user, name: $("name").value, language: $("language").value, style: $("style").value,
                                 event_id: eventId }, payload);
    const started = Date.now();
    for (let wait = RETRY_FIRST_MS; ; wait = Math.min(wait * 2, RETRY_MAX_MS)) {
      let retry = false;
      try {
        const res = await fetch("api/send", {
          method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body),
        });
        if (res.status === 503) { retry = true; }
        else if (!res.ok) { $("status").textContent = (await res.json()).error || res.statusText; }
        else { $("status").textContent = ""; }
      } catch (err) { retry = true; }
      if (!retry) { break; }
      if (Date.now() - started > RETRY_FOR_MS) {
        $("status").textContent = "Pesan tidak terkirim, coba lagi nanti / Not sent, please try again later";
        break;
      }
      $("status").textContent = "Server sibuk, mengirim ulang… / Server busy, sending again…";
      await new Promise((resolve) => setTimeout(resolve, wait));
    }
    setTimeout(poll, 150);
  }

  function button(choice) {
    const b = document.createElement("button");
    b.type = "button";
    b.textContent = choice.label;   // textContent: customer and bot text never becomes HTML
    b.addEventListener("click", () => {
      if (choice.url) { window.open(choice.url, "_blank", "noopener"); return; }
      if (choice.location) { shareLocation(); return; }
      if (choice.data) { send({ kind: "postback", data: choice.data, label: choice.label }); }
      else { send({ kind: "text", text: choice.text || choice.label }); }
    });
    return b;
  }

  function describe(item) {
    const p = item.payload || {};
    if (item.type === "location") { return "📍 " + (p.title || "") + " (" + p.lat + ", " + p.lon + ")"; }
    if (item.type === "sticker") { return "[sticker]"; }
    if (item.type === "postback") { return "👆 " + (p.label || item.text || ""); }
    if (["follow", "unfollow", "join", "leave"].includes(item.type)) { return "— " + item.type + " —"; }
    return item.text || "[" + item.type + "]";
  }

  // A sent photo: one uploaded here is shown from this origin, others only over https.
  function imageSrc(url) {
    if (!url) { return ""; }
    try {
      const parsed = new URL(url, location.href);
      if (parsed.pathname.startsWith("/media/")) { return parsed.pathname; }
      return parsed.protocol === "https:" ? parsed.href : "";
    } catch (e) { return ""; }
  }

  function render(item) {
    const li = document.createElement("li");
    li.dataset.id = item.id;
    const reply = (item.payload || {}).reply || {};
    const system = item.direction === "in" && ["follow", "unfollow"].includes(item.type);
    li.className = "msg " + (system ? "event" : item.direction);
    const sentPhoto = item.direction === "in" && item.type === "image" && (item.payload || {}).media;
    li.appendChild(document.createTextNode(item.direction === "out" ? (reply.text || item.text || "")
      : (sentPhoto ? "" : describe(item))));
    if (reply.location) {
      li.appendChild(document.createTextNode("\n📍 " + reply.location.title + " — " + reply.location.address));
    }
    const image = sentPhoto ? "/media/" + encodeURIComponent(item.payload.media) : imageSrc(reply.image_url);
    if (image) {
      const img = document.createElement("img");
      img.className = "photo";
      img.addEventListener("load", () => { if (followEnd) { scrollToEnd(); } });
      img.src = image;
      img.alt = "image";
      li.appendChild(img);
    }
    // Cards side by side, scrolled sideways, as a LINE carousel shows them.
    const cards = document.createElement("div");
    cards.className = "cards";
    (reply.cards || []).forEach((card) => {
      const div = document.createElement("div");
      div.className = "card";
      const title = document.createElement("strong");
      title.textContent = card.title;
      div.appendChild(title);
      if (card.subtitle) { div.appendChild(document.createTextNode("\n" + card.subtitle)); }
      const buttons = document.createElement("div");
      buttons.className = "buttons";
      (card.buttons || []).forEach((c) => buttons.appendChild(button(c)));
      div.appendChild(buttons);
      cards.appendChild(div);
    });
    if (cards.childElementCount) { li.classList.add("carousel"); li.appendChild(cards); }
    if (item.direction === "out") {
      const meta = document.createElement("span");
      meta.className = "meta";
      meta.textContent = (item.sender === "staff" ? "staff" : "bot") + " · " + item.status;
      li.appendChild(meta);
    }
    $("chat").appendChild(li);
    if (item.direction === "out") {
      const box = $("choices");
      box.replaceChildren(...(reply.choices || []).map(button));
    }
  }

  function scrollToEnd() {
    const chat = $("chat");
    chat.scrollTop = chat.scrollHeight;
  }

  async function poll() {
    if (polling) { pollAgain = true; return; }
    polling = true;
    const asked = user;  // "New customer" during the poll: its answer belongs to the old one
    try {
      const res = await fetch("api/messages?user=" + encodeURIComponent(asked) + "&after=" + lastId);
      const data = res.ok ? await res.json() : null;
      if (data && asked === user) {
        const fresh = data.items.filter((item) => !shown.has(item.id));
        fresh.forEach((item) => { shown.add(item.id); render(item); lastId = Math.max(lastId, item.id); });
        if (fresh.length && followEnd) { scrollToEnd(); }
      }
    } catch (err) { /* next poll retries */ }
    finally {
      polling = false;
      if (pollAgain) { pollAgain = false; poll(); }
    }
  }

  // Reading older messages stops the following; scrolling back to the end resumes it.
  $("chat").addEventListener("scroll", () => {
    const chat = $("chat");
    followEnd = chat.scrollHeight - chat.scrollTop - chat.clientHeight < 40;
  });

  $("composer").addEventListener("submit", (e) => {
    e.preventDefault();
    const text = $("text").value.trim();
    if (text) { send({ kind: "text", text }); $("text").value = ""; }
  });
  $("follow").addEventListener("click", () => send({ kind: "follow" }));
  function shareLocation() {
    // The browser's real position when allowed; Monas (Jakarta) otherwise.
    const fallback = () => send({ kind: "location", lat: -6.1754, lon: 106.8272, title: "Monas" });
    if (!navigator.geolocation) { fallback(); return; }
    navigator.geolocation.getCurrentPosition(
      (pos) => send({ kind: "location", lat: pos.coords.latitude, lon: pos.coords.longitude, title: "" }),
      fallback, { timeout: 3000 });
  }
  $("location").addEventListener("click", shareLocation);
  // A photo (a payment proof, a damaged item) goes as the platforms send one: the file itself.
  $("photo").addEventListener("click", () => $("photo-file").click());
  $("photo-file").addEventListener("change", (e) => {
    const file = e.target.files[0];
    e.target.value = "";
    if (!file) { return; }
    const reader = new FileReader();
    reader.onload = () => send({ kind: "image", image: String(reader.result).split(",", 2)[1] || "" });
    reader.readAsDataURL(file);
  });
  $("reset").addEventListener("click", () => {
    user = newUser();
    lastId = 0;
    shown.clear();
    followEnd = true;
    $("chat").replaceChildren();
    $("choices").replaceChildren();
  });
  $("style").addEventListener("change", (e) => setStyle(e.target.value));
  $("name").value = store.getItem("sapa.sim.name") || "";
  $("name").addEventListener("change", () => store.setItem("sapa.sim.name", $("name").value));
  $("style").value = store.getItem("sapa.sim.style") || "line";
  setStyle($("style").value);
  poll();
  setInterval(poll, 1000);
})();
