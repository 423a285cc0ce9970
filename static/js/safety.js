// Safety confirmation pages (templates/safety/*.html).  Progressive enhancement: the
// pages are complete without this script.
//
// * The door-knock list: a "print" button (window.print) appears.
// * The leaders' status page: counters follow the live "safety" events of the
//   leaders:<association_id> room (counts only; the household list is right on reload).
//   live.js owns the Socket.IO connection and ignores event kinds it does not know,
//   so this script reads the same room through the HTTP catch-up every few seconds
//   (from the seq the page was rendered at), and also applies any envelope another
//   script dispatches as a "chounaikai:live" DOM event.  Events carry absolute counts:
//   applying them in seq order gives exact numbers, and an event seen twice is harmless.
(function () {
  "use strict";

  var printButton = document.querySelector("[data-safety-print]");
  if (printButton && window.print) {
    printButton.hidden = false;
    printButton.addEventListener("click", function () { window.print(); });
  }

  var totals = document.getElementById("safety-totals");
  var eventsUrl = document.body.getAttribute("data-live-events-url");
  if (!totals || !eventsUrl || !window.fetch) { return; }
  var room = totals.getAttribute("data-room");
  var roundId = Number(totals.getAttribute("data-round"));
  var block = totals.getAttribute("data-block");  // a block leader's own block, else ""
  var last = 0;
  try {
    last = Number(JSON.parse(document.body.getAttribute("data-live-rooms") || "{}")[room]) || 0;
  } catch (e) { last = 0; }
  var POLL_MS = 10000;
  var busy = false;

  function fill(template, values) {
    return template.replace(/\{(\w+)\}/g, function (m, key) {
      return Object.prototype.hasOwnProperty.call(values, key) ? String(values[key]) : m;
    });
  }

  function showCounts(data) {
    var counters = data;
    if (block) {
      counters = null;
      (data.blocks || []).forEach(function (b) { if (String(b.block_id) === block) { counters = b; } });
      if (!counters) { return; }
    }
    totals.querySelectorAll("[data-count]").forEach(function (el) {
      var value = counters[el.getAttribute("data-count")];
      if (typeof value === "number") { el.textContent = String(value); }
    });
    document.querySelectorAll("[data-block-line]").forEach(function (el) {
      var id = el.getAttribute("data-block-line");
      (data.blocks || []).forEach(function (b) {
        if (String(b.block_id === null ? "" : b.block_id) === id) {
          el.textContent = fill(el.getAttribute("data-template") || "", b);
        }
      });
    });
    var note = document.getElementById("safety-live-note");
    if (note) { note.hidden = false; }
  }

  function apply(env) {
    if (!env || env.room !== room || typeof env.seq !== "number" || env.seq <= last) { return; }
    last = env.seq;
    var data = env.data || {};
    if (env.kind === "safety" && data.round_id === roundId) {
      showCounts(data);
    } else if (env.kind === "safety_round") {
      var note = document.getElementById("safety-round-note");
      if (note) { note.hidden = false; }
    }
  }

  function poll() {
    if (busy || document.visibilityState === "hidden") { return; }
    busy = true;
    var url = eventsUrl + "?room=" + encodeURIComponent(room) + "&after=" + last;
    fetch(url, { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (page) {
        busy = false;
        if (!page) { return; }
        (page.events || []).sort(function (a, b) { return a.seq - b.seq; }).forEach(apply);
        if (page.has_more) { poll(); }
      }, function () { busy = false; });
  }

  document.addEventListener("chounaikai:live", function (event) {
    var env = event.detail;
    // Something before it was missed: fetch from our last seq instead (in order).
    if (env && env.room === room && typeof env.prev === "number" && env.prev > last) { poll(); return; }
    apply(env);
  });
  document.addEventListener("visibilitychange", poll);
  window.setInterval(poll, POLL_MS);
})();
