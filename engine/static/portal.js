/* Loomwork portal: navigation toggle, notification bell, and a small JSON client with the CSRF token. */
(function () {
  "use strict";
  var meta = function (name) { var el = document.querySelector('meta[name="' + name + '"]'); return el ? el.content : ""; };
  var lw = window.lw = window.lw || {};
  lw.csrf = meta("csrf-token");
  lw.lang = meta("lw-lang") || "zh-CN";

  /* fetch JSON with the session cookie and the CSRF header; resolves to {status, ok, data, headers} */
  lw.api = function (method, url, body, headers) {
    var h = Object.assign({"Accept": "application/json"}, headers || {});
    if (method !== "GET" && method !== "HEAD") { h["X-CSRF-Token"] = lw.csrf; }
    var opts = {method: method, headers: h, credentials: "same-origin"};
    if (body !== undefined) { h["Content-Type"] = "application/json"; opts.body = JSON.stringify(body); }
    return fetch(url, opts).then(function (r) {
      return r.text().then(function (text) {
        var data = null;
        try { data = text ? JSON.parse(text) : null; } catch (e) { data = {error: {message: text}}; }
        return {status: r.status, ok: r.ok, data: data, headers: r.headers};
      });
    });
  };

  lw.debounce = function (fn, ms) {
    var timer = null;
    return function () {
      var args = arguments, self = this;
      clearTimeout(timer);
      timer = setTimeout(function () { fn.apply(self, args); }, ms);
    };
  };

  /* navigation: a drawer on narrow screens */
  var toggle = document.querySelector(".lw-navtoggle");
  if (toggle) {
    toggle.addEventListener("click", function () {
      var open = document.body.classList.toggle("lw-nav-open");
      toggle.setAttribute("aria-expanded", open ? "true" : "false");
    });
  }

  /* notification bell: shown only when a notification service answers GET /api/notifications with {unread} */
  var bell = document.querySelector("[data-lw-bell]");
  function refreshBell() {
    lw.api("GET", "/api/notifications?unread=1&size=1").then(function (r) {
      if (!r.ok || !r.data) { return; }
      var unread = typeof r.data.unread === "number" ? r.data.unread : (typeof r.data.total === "number" ? r.data.total : 0);
      bell.hidden = false;
      var badge = bell.querySelector("[data-lw-unread]");
      badge.textContent = unread > 99 ? "99+" : String(unread);
      badge.hidden = unread === 0;
    }).catch(function () { /* no notification service: no bell */ });
  }
  if (bell) { refreshBell(); setInterval(refreshBell, 60000); }
})();
