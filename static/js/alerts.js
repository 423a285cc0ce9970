/* Staff alert page: refresh the delivery counters every few seconds while any are pending. */
"use strict";
(function () {
  var box = document.getElementById("alert-progress");
  if (!box) { return; }
  var bar = document.getElementById("alert-progress-bar");
  var url = box.getAttribute("data-progress-url");
  function show(counts) {
    Object.keys(counts).forEach(function (name) {
      var cell = box.querySelector("[data-count=" + name + "]");
      if (cell) { cell.textContent = String(counts[name]); }
    });
    if (bar) {
      bar.max = counts.targeted || 1;
      bar.value = counts.sent + counts.failed;
    }
    return counts.pending > 0 || counts.targeted === 0;
  }
  function poll() {
    fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin" })
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (counts) {
        if (counts && show(counts)) { window.setTimeout(poll, 3000); }
      })
      .catch(function () { window.setTimeout(poll, 10000); });
  }
  window.setTimeout(poll, 2000);
})();
