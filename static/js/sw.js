/* デジタル町内会 service worker, served at /sw.js with scope "/".
 *
 * Shows the notification a push message carries, opens (or focuses) its page when the
 * notification is tapped, and keeps the app icon's unread badge up to date.  No
 * framework, no build step.
 *
 * Push payload (JSON; every field optional):
 *   title        notification title (default: デジタル町内会)
 *   body         text under the title
 *   url          page to open on tap; same-origin only, anything else opens "/"
 *   tag          replaces an earlier notification with the same tag (the push Topic);
 *                default "circular-<circular_id>" when circular_id is given
 *   circular_id  the circular it is about
 *   unread       unread count for the app badge (0 clears it); absent: badge unchanged
 *   urgent       true for emergencies: the notification stays on screen until tapped
 *   lang         BCP 47 tag of title and body (default "ja"); texts are translated on the
 *                server, per recipient, so this file holds no user-facing words but the
 *                fallback title
 * (chounaikai/push/payload.py builds it; other keys such as kind or count are ignored.)
 *
 * The handlers are plain named functions so they can be read, and driven from the
 * browser tests, without a test-only hook in this file.
 */
"use strict";

var DEFAULT_TITLE = "デジタル町内会";
var ICON = "/static/img/icon-192.png";
var BADGE = "/static/img/badge-96.png";

// The disaster portal and what it needs, kept for offline use (network first).
var PORTAL_CACHE = "portal-v1";
var PORTAL_PATHS = ["/portal", "/static/css/app.css", "/static/css/portal.css",
  "/static/js/portal.js", "/static/js/live.js"];

self.addEventListener("install", function (event) {
  // Take over at once; pre-cache the portal so it works offline even if never opened.
  self.skipWaiting();
  event.waitUntil(caches.open(PORTAL_CACHE).then(function (cache) {
    return cache.addAll(PORTAL_PATHS).catch(function () { /* retried on the next visit */ });
  }));
});

self.addEventListener("activate", function (event) {
  event.waitUntil(caches.keys().then(function (names) {
    return Promise.all(names.filter(function (name) {
      return name.indexOf("portal-") === 0 && name !== PORTAL_CACHE;
    }).map(function (name) { return caches.delete(name); }));
  }).then(function () { return self.clients.claim(); }));
});

/** The push message's JSON object, or {} (a non-JSON message becomes its body). */
function readPayload(data) {
  if (!data) { return {}; }
  try {
    var value = data.json();
    return value && typeof value === "object" && !Array.isArray(value) ? value : {};
  } catch (error) {
    return { body: data.text() };
  }
}

/** An absolute URL on this site for ``raw``; anything pointing elsewhere becomes "/". */
function sameOriginUrl(raw) {
  var home = new URL("/", self.location.origin).href;
  if (typeof raw !== "string" || raw === "") { return home; }
  try {
    var url = new URL(raw, self.location.origin);
    return url.origin === self.location.origin ? url.href : home;
  } catch (error) {
    return home;
  }
}

function text(value, limit) {
  return typeof value === "string" ? value.slice(0, limit) : "";
}

/** Title and options for showNotification() from a payload. */
function notificationFor(payload) {
  var circularId = Number.isInteger(payload.circular_id) ? payload.circular_id : null;
  var tag = text(payload.tag, 64) || (circularId !== null ? "circular-" + circularId : "");
  var options = {
    body: text(payload.body, 300),
    icon: ICON,
    badge: BADGE,
    lang: text(payload.lang, 16) || "ja",
    renotify: false,
    requireInteraction: payload.urgent === true,
    data: { url: sameOriginUrl(payload.url), circular_id: circularId }
  };
  if (tag) { options.tag = tag; }
  return { title: text(payload.title, 120) || DEFAULT_TITLE, options: options };
}

/** Set or clear the app icon's badge where the browser supports it. */
function updateBadge(payload) {
  var count = payload.unread;
  if (!Number.isInteger(count) || count < 0 || !("setAppBadge" in self.navigator)) {
    return Promise.resolve();
  }
  var done = count > 0 ? self.navigator.setAppBadge(count) : self.navigator.clearAppBadge();
  return done.catch(function () { /* the badge is a nicety */ });
}

function onPush(event) {
  var payload = readPayload(event.data);
  var shown = notificationFor(payload);
  event.waitUntil(Promise.all([
    self.registration.showNotification(shown.title, shown.options),
    updateBadge(payload)
  ]));
}

/** Focus a tab already showing ``url``, else open it in a new window. */
function openOrFocus(url) {
  return self.clients.matchAll({ type: "window", includeUncontrolled: true })
    .then(function (windows) {
      for (var i = 0; i < windows.length; i += 1) {
        if (windows[i].url === url && "focus" in windows[i]) {
          return windows[i].focus();
        }
      }
      return self.clients.openWindow(url);
    });
}

function onNotificationClick(event) {
  var data = event.notification.data || {};
  event.notification.close();
  event.waitUntil(openOrFocus(sameOriginUrl(data.url)));
}

self.addEventListener("push", onPush);
self.addEventListener("notificationclick", onNotificationClick);

/* ---- Offline: the disaster portal ---------------------------------------------------
 * Only the portal and its files are handled: fresh from the network when it answers (and
 * stored), else the stored copy, which the page marks as offline with its time.  Every
 * other request goes to the network as if there were no worker.
 */
function isPortalRequest(request) {
  if (request.method !== "GET") { return false; }
  var url = new URL(request.url);
  return url.origin === self.location.origin && PORTAL_PATHS.indexOf(url.pathname) !== -1;
}

function onFetch(event) {
  if (!isPortalRequest(event.request)) { return; }
  event.respondWith(caches.open(PORTAL_CACHE).then(function (cache) {
    return fetch(event.request).then(function (response) {
      if (response.ok) { cache.put(event.request, response.clone()); }
      return response;
    }).catch(function () {
      return cache.match(event.request, { ignoreSearch: true }).then(function (stored) {
        return stored || Response.error();
      });
    });
  }));
}

self.addEventListener("fetch", onFetch);
