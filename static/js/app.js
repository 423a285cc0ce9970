// Progressive enhancement only: every page works without this script.
(function () {
  "use strict";
  var csrf = document.querySelector('meta[name="csrf-token"]');
  var csrfToken = csrf ? csrf.getAttribute("content") : "";

  // Opening a circular records "read" with a POST, never as a GET side effect.
  var article = document.querySelector("article.circular[data-read-url]");
  if (article && article.dataset.readUrl) {
    fetch(article.dataset.readUrl, {
      method: "POST",
      credentials: "same-origin",
      headers: { "X-CSRFToken": csrfToken, "Accept": "application/json" }
    }).then(function (response) {
      if (response.ok) { article.dataset.read = "1"; }
    }).catch(function () { /* offline: the next open records it */ });
  }

  // Ask before destructive actions.
  document.querySelectorAll("form[data-confirm]").forEach(function (form) {
    form.addEventListener("submit", function (event) {
      if (!window.confirm(form.dataset.confirm)) { event.preventDefault(); }
    });
  });
})();
