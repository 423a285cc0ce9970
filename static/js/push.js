// Web Push, as progressive enhancement: registers the service worker (/sw.js) on every
// page, and on the notification settings page shows the part that fits this device:
// the "通知を受け取る" button, or a step-by-step guide where push cannot work yet
// (iPhone Safari not added to the Home Screen, iOS older than 16.4, no Push API,
// notifications blocked).  The permission prompt only ever follows a tap on the button.
(function () {
  "use strict";

  var SW_URL = "/sw.js";
  var hasWorker = "serviceWorker" in navigator;

  if (hasWorker) {
    navigator.serviceWorker.register(SW_URL, { scope: "/" }).catch(function () {
      /* e.g. a private window that refuses workers: the pages work without one */
    });
  }

  var root = document.getElementById("push-device");
  if (!root) { return; }

  var csrf = document.querySelector('meta[name="csrf-token"]');
  var csrfToken = csrf ? csrf.getAttribute("content") : "";
  var vapidKey = root.dataset.vapidKey || "";
  var message = root.querySelector("[data-push-message]");
  var ua = navigator.userAgent;

  // ---- what this device can do -------------------------------------------------------

  // [major, minor] of iOS/iPadOS, or null on other systems.
  function iosVersion() {
    var m = /(?:iPhone|iPad|iPod).*? OS (\d+)_(\d+)/.exec(ua);
    if (m) { return [Number(m[1]), Number(m[2])]; }
    // iPadOS 13+ asks for desktop pages and says "Macintosh"; a touch screen gives it away.
    if (/Macintosh/.test(ua) && navigator.maxTouchPoints > 1) {
      var v = /Version\/(\d+)\.(\d+)/.exec(ua);
      return v ? [Number(v[1]), Number(v[2])] : [99, 0];
    }
    return null;
  }

  function isStandalone() {
    return window.navigator.standalone === true ||
      (typeof window.matchMedia === "function" &&
       window.matchMedia("(display-mode: standalone)").matches);
  }

  function canPush() {
    return hasWorker && "PushManager" in window && "Notification" in window;
  }

  // Which panel or guide to show before looking at an existing subscription.
  function detect() {
    var ios = iosVersion();
    if (ios && (ios[0] < 16 || (ios[0] === 16 && ios[1] < 4))) { return "ios-old"; }
    if (ios && !isStandalone()) { return "ios-install"; }
    if (!canPush()) { return ios ? "ios-install" : "unsupported"; }
    if (Notification.permission === "denied") { return "denied"; }
    if (!vapidKey) { return "unconfigured"; }
    return "ready";
  }

  // ---- showing it --------------------------------------------------------------------

  function show(state) {
    root.dataset.pushState = state;
    document.querySelectorAll("[data-push-panel]").forEach(function (el) {
      el.hidden = el.dataset.pushPanel !== state;
    });
    // With JavaScript only the guide for this device stays, opened; without it all
    // guides are listed (closed) so the page still explains everything.
    var guides = document.querySelectorAll("[data-push-guide]");
    var anyGuide = false;
    guides.forEach(function (el) {
      var match = el.dataset.pushGuide === state;
      el.hidden = !match;
      if (match) { el.open = true; anyGuide = true; }
    });
    var guideList = document.querySelector("[data-push-guides]");
    if (guideList) { guideList.hidden = !anyGuide; }
    var ios = iosVersion() !== null;
    document.querySelectorAll("[data-push-platform]").forEach(function (el) {
      el.hidden = el.dataset.pushPlatform !== (ios ? "ios" : "other");
    });
    var notSafari = ios && /CriOS|FxiOS|EdgiOS|OPiOS|GSA\/|Line\//.test(ua);
    document.querySelectorAll("[data-push-only=ios-not-safari]").forEach(function (el) {
      el.hidden = !notSafari;
    });
  }

  function say(text, isError) {
    if (!message) { return; }
    message.textContent = text || "";
    message.classList.toggle("push-message-error", Boolean(isError));
    message.hidden = !text;
  }

  // ---- the subscription ----------------------------------------------------------------

  function keyBytes(base64url) {
    var base64 = (base64url + "===".slice((base64url.length + 3) % 4))
      .replace(/-/g, "+").replace(/_/g, "/");
    var raw = window.atob(base64);
    var bytes = new Uint8Array(raw.length);
    for (var i = 0; i < raw.length; i += 1) { bytes[i] = raw.charCodeAt(i); }
    return bytes;
  }

  function sameKey(buffer, bytes) {
    if (!buffer) { return true; }  // older browsers do not tell: assume it matches
    var a = new Uint8Array(buffer);
    if (a.length !== bytes.length) { return false; }
    for (var i = 0; i < a.length; i += 1) { if (a[i] !== bytes[i]) { return false; } }
    return true;
  }

  function hashHex(text) {
    if (!window.crypto || !window.crypto.subtle) { return Promise.resolve(""); }
    return window.crypto.subtle.digest("SHA-256", new TextEncoder().encode(text))
      .then(function (digest) {
        return Array.prototype.map.call(new Uint8Array(digest), function (b) {
          return ("0" + b.toString(16)).slice(-2);
        }).join("");
      });
  }

  // This device's current subscription (with the server's key), or null.
  function currentSubscription() {
    return navigator.serviceWorker.ready.then(function (registration) {
      return registration.pushManager.getSubscription().then(function (existing) {
        if (existing && !sameKey(existing.options && existing.options.applicationServerKey,
                                 keyBytes(vapidKey))) {
          // Made with an old server key: pushes with the new key would be refused.
          return existing.unsubscribe().then(function () { return null; });
        }
        return existing;
      });
    });
  }

  // Mark "この端末" in the device list; resolves to true when the server knows this device.
  function markThisDevice(subscription) {
    if (!subscription) { return Promise.resolve(false); }
    return hashHex(subscription.endpoint).then(function (hash) {
      var known = false;
      document.querySelectorAll("[data-endpoint-hash]").forEach(function (row) {
        var mine = hash !== "" && row.dataset.endpointHash === hash;
        row.classList.toggle("device-this", mine);
        var note = row.querySelector("[data-push-this-device]");
        if (note) { note.hidden = !mine; }
        known = known || mine;
      });
      return known;
    });
  }

  function send(subscription) {
    return fetch(root.dataset.subscribeUrl, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "Accept": "application/json",
                 "X-CSRFToken": csrfToken },
      body: JSON.stringify(subscription.toJSON())
    }).then(function (response) {
      if (response.ok) { return response.json(); }
      return response.json().catch(function () { return {}; }).then(function (body) {
        var error = new Error("refused");
        error.serverMessage = body && body.error ? body.error.message : "";
        throw error;
      });
    });
  }

  function subscribe() {
    return navigator.serviceWorker.ready.then(function (registration) {
      return currentSubscription().then(function (existing) {
        return existing || registration.pushManager.subscribe({
          userVisibleOnly: true, applicationServerKey: keyBytes(vapidKey)
        });
      });
    }).then(send);
  }

  function onTap(event) {
    var button = event.currentTarget;
    button.disabled = true;
    say(root.dataset.msgAsking);
    // Called straight from the tap: Safari only shows the prompt for a user gesture.
    var asked = Notification.requestPermission();
    Promise.resolve(asked).then(function (permission) {
      if (permission !== "granted") {
        show(permission === "denied" ? "denied" : "ready");
        say(permission === "denied" ? "" : root.dataset.msgNotAllowed);
        return null;
      }
      say(root.dataset.msgWorking);
      return subscribe().then(function () {
        // The server flashed a confirmation; the reload shows it and the device list.
        window.location.reload();
      });
    }).catch(function (error) {
      say(error && error.serverMessage ? error.serverMessage : root.dataset.msgFailed, true);
    }).then(function () {
      button.disabled = false;
    });
  }

  // Removing this very device also ends its subscription in the browser.
  function onRemove(event) {
    var form = event.currentTarget;
    if (event.defaultPrevented || !form.closest(".device-this")) { return; }
    event.preventDefault();
    currentSubscription().then(function (subscription) {
      return subscription ? subscription.unsubscribe() : null;
    }).catch(function () { /* the server forgets it anyway */ }).then(function () {
      form.submit();
    });
  }

  // ---- start -----------------------------------------------------------------------------

  var state = detect();
  show(state);
  root.querySelectorAll("[data-push-action=subscribe]").forEach(function (button) {
    button.addEventListener("click", onTap);
  });
  document.querySelectorAll("form[data-push-remove]").forEach(function (form) {
    form.addEventListener("submit", onRemove);
  });
  if (state === "ready" && Notification.permission === "granted") {
    currentSubscription().then(markThisDevice).then(function (known) {
      if (known) { show("subscribed"); }
    }).catch(function () { /* keep the button: a tap tries again */ });
  }
})();
