/* Disaster portal: sort shelters by distance when the reader allows their location, and
 * say so plainly when the page is the last copy kept offline by the service worker. */
"use strict";
(function () {
  var list = document.getElementById("shelter-list");
  var button = document.getElementById("sort-nearby");
  var status = document.getElementById("sort-status");

  // ---- the service worker keeps this page for offline use (it is the same worker the
  // member pages register for notifications; registering twice is harmless).
  if ("serviceWorker" in navigator) {
    navigator.serviceWorker.register("/sw.js", { scope: "/" }).catch(function () {});
  }

  // ---- offline: the service worker served the stored copy, or the network is gone.
  function showOffline() {
    var note = document.getElementById("offline-note");
    if (note) { note.hidden = false; }
  }
  if (!navigator.onLine) { showOffline(); }
  window.addEventListener("offline", showOffline);
  if (window.fetch) {
    fetch("/healthz", { cache: "no-store" }).catch(showOffline);
  }

  // ---- nearest first (distances on a sphere are plenty for a few kilometres)
  function km(lat1, lon1, lat2, lon2) {
    var rad = Math.PI / 180;
    var dLat = (lat2 - lat1) * rad;
    var dLon = (lon2 - lon1) * rad;
    var a = Math.sin(dLat / 2) * Math.sin(dLat / 2) +
      Math.cos(lat1 * rad) * Math.cos(lat2 * rad) * Math.sin(dLon / 2) * Math.sin(dLon / 2);
    return 6371 * 2 * Math.atan2(Math.sqrt(a), Math.sqrt(1 - a));
  }

  function sortFrom(lat, lon) {
    var items = Array.prototype.slice.call(list.children);
    var template = list.getAttribute("data-text-km") || "{km} km";
    items.forEach(function (li) {
      var la = parseFloat(li.getAttribute("data-lat"));
      var lo = parseFloat(li.getAttribute("data-lon"));
      li._km = isNaN(la) || isNaN(lo) ? Infinity : km(lat, lon, la, lo);
      var cell = li.querySelector(".distance");
      if (cell && li._km !== Infinity) {
        cell.textContent = template.replace("{km}", li._km.toFixed(1));
        cell.hidden = false;
      }
    });
    items.sort(function (a, b) { return a._km - b._km; });
    items.forEach(function (li) { list.appendChild(li); });
    if (status) { status.textContent = status.getAttribute("data-text-sorted") || ""; }
  }

  if (list && button && navigator.geolocation) {
    button.hidden = false;
    button.addEventListener("click", function () {
      navigator.geolocation.getCurrentPosition(function (position) {
        sortFrom(position.coords.latitude, position.coords.longitude);
      }, function () {
        if (status) { status.textContent = status.getAttribute("data-text-denied") || ""; }
      }, { maximumAge: 300000, timeout: 15000 });
    });
  }
})();
