// Live updates (docs/live-updates.md).  Progressive enhancement: pages are complete
// without this script; it only keeps their counters current and shows notices.
//
// A small Socket.IO client (Engine.IO 4, websocket transport only) so no third-party
// script is needed.  Socket.IO is the doorbell, the server's event table is the record:
// every room keeps the last seq applied; an event whose "prev" is beyond it (or any
// reconnect) triggers GET /live/events?room=..&after=<last>, which returns what was
// missed in order.  Events carry absolute counts, so applying them in seq order
// recomputes the counters exactly.
(function () {
  "use strict";
  var body = document.body;
  var roomsJson = body.getAttribute("data-live-rooms");
  var eventsUrl = body.getAttribute("data-live-events-url");
  if (!roomsJson || !eventsUrl || !window.WebSocket || !window.fetch) { return; }
  var initial;
  try { initial = JSON.parse(roomsJson); } catch (e) { return; }

  var TOAST_MS = 12000;        // long enough to read; paused while pointed at or focused
  var MAX_TOASTS = 3;
  var MAX_DELAY_MS = 30000;
  var region = document.getElementById("live-toasts");

  // room -> {last, pending, syncing, again}
  var rooms = {};
  Object.keys(initial).forEach(function (room) {
    rooms[room] = { last: Number(initial[room]) || 0, pending: [], syncing: false, again: false };
  });

  function text(el, name) { return (el && el.getAttribute("data-text-" + name)) || ""; }
  function fill(template, values) {
    return template.replace(/\{(\w+)\}/g, function (m, key) {
      return Object.prototype.hasOwnProperty.call(values, key) ? String(values[key]) : m;
    });
  }
  function mark(symbol) {
    var span = document.createElement("span");
    span.setAttribute("aria-hidden", "true");
    span.textContent = symbol;
    return span;
  }

  // ---------------------------------------------------------------- the resident's inbox

  function inboxFor(associationId) {
    var summary = document.getElementById("unread-count");
    if (summary && Number(summary.getAttribute("data-live-association")) === associationId) {
      return summary;
    }
    return null;
  }

  function setUnread(summary, count) {
    summary.setAttribute("data-count", String(count));
    summary.textContent = "";
    summary.appendChild(mark(count ? "●" : "✓"));
    summary.appendChild(document.createTextNode(" " + (count ? fill(text(summary, "unread"), { n: count })
                                                              : text(summary, "none"))));
  }

  function listItem(circularId) {
    var link = document.querySelector('.circular-item a[href="/circulars/' + Number(circularId) + '"]');
    return link ? link.closest(".circular-item") : null;
  }

  function safeUrl(url) { return /^\/circulars\/\d+$/.test(url || "") ? url : null; }

  function addListItem(summary, data) {
    var url = safeUrl(data.url);
    if (!url || listItem(data.circular_id)) { return; }
    var list = document.querySelector("ul.circular-list");
    if (!list) {
      list = document.createElement("ul");
      list.className = "circular-list";
      var empty = document.getElementById("no-circulars");
      if (empty) { empty.parentNode.replaceChild(list, empty); } else { return; }
    }
    var li = document.createElement("li");
    li.className = "circular-item unread";
    var a = document.createElement("a");
    a.href = url;
    var status = mark("●");
    status.className = "status-mark";
    var hidden = document.createElement("span");
    hidden.className = "visually-hidden";
    hidden.textContent = text(summary, "unread-item");
    var title = document.createElement("span");
    title.className = "circular-title";
    title.textContent = data.title;
    var meta = document.createElement("span");
    meta.className = "meta";
    var fresh = document.createElement("span");
    fresh.className = "tag tag-new";
    fresh.textContent = text(summary, "new-item");
    meta.appendChild(fresh);
    if (data.ack_required) {
      var ack = document.createElement("span");
      ack.className = "tag tag-ack";
      ack.textContent = text(summary, "ack");
      meta.appendChild(ack);
    }
    a.appendChild(status);
    a.appendChild(hidden);
    a.appendChild(title);
    a.appendChild(meta);
    li.appendChild(a);
    list.insertBefore(li, list.firstChild);
  }

  function markRead(summary, data) {
    var li = listItem(data.circular_id);
    if (!li) { return; }
    li.classList.remove("unread");
    li.classList.add("read");
    var status = li.querySelector(".status-mark");
    if (status) { status.textContent = "✓"; }
    var hidden = li.querySelector(".visually-hidden");
    if (hidden) { hidden.textContent = text(summary, "read-item"); }
    if (data.acknowledged) {
      var tag = li.querySelector(".tag-ack");
      if (tag) { tag.parentNode.removeChild(tag); }
    }
  }

  // ------------------------------------------------------------- the leader's status page

  function updateTotals(data) {
    var note = document.getElementById("live-status-note");
    if (!note || Number(note.getAttribute("data-live-circular")) !== data.circular_id) { return; }
    var counters = data;
    var block = note.getAttribute("data-live-block");
    if (block) {  // a block leader's page shows their block only
      counters = null;
      (data.blocks || []).forEach(function (b) { if (String(b.block_id) === block) { counters = b; } });
      if (!counters) { return; }
    }
    // <div data-live-counts="read/total"><dt>…</dt><dd><strong>read</strong> / total</dd></div>
    document.querySelectorAll("#totals [data-live-counts]").forEach(function (box) {
      var names = box.getAttribute("data-live-counts").split("/");
      var dd = box.querySelector("dd");
      var count = counters[names[0]];
      var total = counters[names[1]];
      if (!dd || typeof count !== "number" || typeof total !== "number") { return; }
      var strong = document.createElement("strong");
      strong.textContent = String(count);
      dd.textContent = "";
      dd.appendChild(strong);
      dd.appendChild(document.createTextNode(" / " + total));
    });
    document.querySelectorAll("[data-live-block-line]").forEach(function (el) {
      var id = el.getAttribute("data-live-block-line");
      (data.blocks || []).forEach(function (b) {
        if (String(b.block_id === null ? "" : b.block_id) === id) {
          el.textContent = fill(el.getAttribute("data-live-template") || "",
                                { read: b.households_read, total: b.households });
        }
      });
    });
    note.hidden = false;
  }

  // ----------------------------------------------------------------------------- notices

  function dismiss(toast) {
    if (toast.parentNode) {
      if (toast.contains(document.activeElement)) {
        var main = document.getElementById("main");
        if (main) { main.setAttribute("tabindex", "-1"); main.focus(); }
      }
      toast.parentNode.removeChild(toast);
    }
  }

  function showToast(parts, sticky) {
    if (!region) { return; }
    while (region.children.length >= MAX_TOASTS) { dismiss(region.firstElementChild); }
    var toast = document.createElement("div");
    toast.className = "toast";
    toast.appendChild(mark("🔔"));
    parts.forEach(function (part) { toast.appendChild(document.createTextNode(" ")); toast.appendChild(part); });
    var close = document.createElement("button");
    close.type = "button";
    close.className = "toast-close";
    close.setAttribute("aria-label", text(region, "close"));
    close.textContent = "×";
    close.addEventListener("click", function () { dismiss(toast); });
    toast.appendChild(close);
    region.appendChild(toast);
    if (sticky) { return; }
    var timer = null;
    var start = function () { clearTimeout(timer); timer = setTimeout(function () { dismiss(toast); }, TOAST_MS); };
    var pause = function () { clearTimeout(timer); };
    toast.addEventListener("mouseenter", pause);
    toast.addEventListener("mouseleave", start);
    toast.addEventListener("focusin", pause);
    toast.addEventListener("focusout", start);
    start();
  }

  function circularToast(data) {
    var label = document.createElement("strong");
    label.textContent = text(region, "new");
    var parts = [label];
    var url = safeUrl(data.url);
    if (url) {
      var link = document.createElement("a");
      link.href = url;
      link.textContent = data.title;
      parts.push(link);
    }
    showToast(parts, false);
  }

  // An emergency alert was issued, updated or cancelled: a banner at the top of the page
  // (the words are the page's own, in its language; the event carries ids and a level).
  function alertBanner(data) {
    var box = document.getElementById("live-alert");
    var url = safeUrl(data.url);
    if (!box || !url) { return; }
    var level = Number.isInteger(data.level) ? data.level : 0;
    var key = data.message_type === "cancel" ? "cancelled"
      : (data.message_type === "update" ? "updated" : "new");
    var link = document.createElement("a");
    link.href = url;
    link.className = "alert-band " + (level >= 3 && level <= 5 ? "alert-level-" + level : "alert-level-none");
    link.appendChild(mark(level ? String(level) : "⚠"));
    link.appendChild(document.createTextNode(" " + text(box, key)));
    box.textContent = "";
    box.appendChild(link);
    box.hidden = false;
  }

  var staleShown = false;
  function showStale() {
    if (staleShown || !region) { return; }
    staleShown = true;
    var message = document.createElement("span");
    message.textContent = text(region, "stale");
    var link = document.createElement("a");
    link.href = window.location.pathname + window.location.search;
    link.textContent = text(region, "reload");
    showToast([message, link], true);
  }

  // ------------------------------------------------------------------ applying events

  // Events of one room are applied in seq order; a batch (catch-up) shows at most
  // MAX_TOASTS new-circular notices, then one line for the rest.
  function apply(events) {
    var fresh = [];
    events.forEach(function (env) {
      // Feature scripts (safety.js) follow events through one DOM event.
      document.dispatchEvent(new CustomEvent("chounaikai:live", { detail: env }));
      var data = env.data || {};
      var summary = inboxFor(data.association_id);
      if (env.kind === "circular") {
        if (summary) { setUnread(summary, data.unread); addListItem(summary, data); }
        if (!data.own) { fresh.push(data); }
      } else if (env.kind === "receipt") {
        if (summary) { setUnread(summary, data.unread); markRead(summary, data); }
      } else if (env.kind === "receipts") {
        updateTotals(data);
      } else if (env.kind === "alert") {
        alertBanner(data);
      }
    });
    var shown = fresh.slice(-MAX_TOASTS);
    shown.forEach(circularToast);
    if (fresh.length > shown.length && region) {
      var more = document.createElement("span");
      more.textContent = fill(text(region, "more"), { n: fresh.length - shown.length });
      showToast([more], false);
    }
  }

  function bySeq(a, b) { return a.seq - b.seq; }

  function onLive(env) {
    var st = env && rooms[env.room];
    if (!st || typeof env.seq !== "number" || env.seq <= st.last) { return; }
    if (!st.syncing && typeof env.prev === "number" && env.prev <= st.last) {
      st.last = env.seq;
      apply([env]);
      return;
    }
    st.pending.push(env);  // something before it is missing (or a catch-up is running)
    catchUp(env.room);
  }

  function catchUp(room) {
    var st = rooms[room];
    if (!st) { return; }
    if (st.syncing) { st.again = true; return; }
    st.syncing = true;
    st.again = false;
    var collected = [];
    var page = function () {
      var url = eventsUrl + "?room=" + encodeURIComponent(room) + "&after=" + st.last;
      return fetch(url, { credentials: "same-origin", headers: { "Accept": "application/json" } })
        .then(function (response) {
          if (!response.ok) { throw new Error("HTTP " + response.status); }
          return response.json();
        })
        .then(function (result) {
          if (result.stale) { showStale(); }
          (result.events || []).forEach(function (env) {
            if (env.seq > st.last) { st.last = env.seq; collected.push(env); }
          });
          return result.has_more && result.events && result.events.length ? page() : null;
        });
    };
    page().then(function () {
      apply(collected);
      st.syncing = false;
      // Live events that arrived meanwhile: apply those that now follow on; a gap
      // left (committed after the query) is fetched again, a few times at most.
      var pending = st.pending.sort(bySeq);
      var gap = false;
      st.pending = [];
      pending.forEach(function (env) {
        if (env.seq <= st.last) { return; }
        if (!gap && typeof env.prev === "number" && env.prev <= st.last) {
          st.last = env.seq;
          apply([env]);
        } else {
          gap = true;
          st.pending.push(env);
        }
      });
      st.retries = gap && !collected.length ? (st.retries || 0) + 1 : 0;
      if (st.retries > 3) { st.pending = []; st.retries = 0; return; }
      if (gap || st.again) { catchUp(room); }
    }, function () {
      apply(collected);  // what arrived before the failure is in order and valid
      st.syncing = false;  // tried again on the next event or reconnect
    });
  }

  function catchUpAll() { Object.keys(rooms).forEach(catchUp); }

  // ------------------------------------------------- Engine.IO 4 / Socket.IO 5 over WebSocket

  var socket = null;
  var attempts = 0;
  var stopped = false;
  var nextAck = 0;
  var acks = {};
  var heartbeat = null;
  var reconnectTimer = null;

  function send(sock, event, data, callback) {
    var id = "";
    if (callback) { id = String(nextAck++); acks[id] = callback; }
    sock.send("42" + id + JSON.stringify([event, data]));
  }

  function alive(sock, windowMs) {
    clearTimeout(heartbeat);
    heartbeat = setTimeout(function () { sock.close(); }, windowMs);
  }

  function joinAll(sock) {
    Object.keys(rooms).forEach(function (room) {
      send(sock, "join", { room: room }, function (answer) {
        if (answer && answer.ok) { catchUp(room); } else { delete rooms[room]; }
      });
    });
  }

  function onPacket(sock, raw) {
    if (typeof raw !== "string") { return; }
    var type = raw.charAt(0);
    if (type === "0") {  // Engine.IO open
      var open = JSON.parse(raw.slice(1));
      sock.pingWindow = (open.pingInterval || 25000) + (open.pingTimeout || 20000);
      alive(sock, sock.pingWindow);
      sock.send("40");  // Socket.IO connect to "/" (the session cookie authenticates)
    } else if (type === "2") {  // ping
      sock.send("3");
      alive(sock, sock.pingWindow || 45000);
    } else if (type === "1") {
      sock.close();
    } else if (type === "4") {
      var sio = raw.charAt(1);
      var rest = raw.slice(2);
      if (sio === "0") {
        attempts = 0;
        joinAll(sock);
      } else if (sio === "4") {  // connection refused: logged out; the page still works
        stopped = true;
        sock.close();
      } else if (sio === "1") {
        sock.close();
      } else if (sio === "2") {
        var event = /^\d*(\[[\s\S]*\])$/.exec(rest);
        if (event) {
          var args = JSON.parse(event[1]);
          if (args[0] === "live") { onLive(args[1]); }
        }
      } else if (sio === "3") {
        var ack = /^(\d+)(\[[\s\S]*\])$/.exec(rest);
        if (ack && acks[ack[1]]) {
          var callback = acks[ack[1]];
          delete acks[ack[1]];
          callback(JSON.parse(ack[2])[0]);
        }
      }
    }
  }

  function connect() {
    if (stopped || socket || !Object.keys(rooms).length) { return; }
    if (navigator.onLine === false) { return; }  // the "online" listener below retries
    clearTimeout(reconnectTimer);
    var scheme = window.location.protocol === "https:" ? "wss://" : "ws://";
    var sock;
    try {
      sock = new WebSocket(scheme + window.location.host + "/socket.io/?EIO=4&transport=websocket");
    } catch (e) {
      later();
      return;
    }
    socket = sock;
    sock.onmessage = function (message) {
      try { onPacket(sock, message.data); } catch (e) { sock.close(); }
    };
    sock.onclose = function () {
      if (socket !== sock) { return; }
      socket = null;
      acks = {};
      clearTimeout(heartbeat);
      later();
    };
  }

  function later() {
    if (stopped) { return; }
    attempts += 1;
    // Websockets blocked (a proxy) or the server away: fetch over HTTP meanwhile.
    if (attempts > 2) { catchUpAll(); }
    var delay = Math.min(MAX_DELAY_MS, 1000 * Math.pow(2, attempts - 1));
    reconnectTimer = setTimeout(connect, delay * (0.5 + Math.random() / 2));
  }

  window.addEventListener("online", function () { attempts = 0; connect(); });
  document.addEventListener("visibilitychange", function () {
    if (document.visibilityState === "visible") { connect(); }
  });
  window.addEventListener("pageshow", function (event) { if (event.persisted) { connect(); } });

  connect();
})();
