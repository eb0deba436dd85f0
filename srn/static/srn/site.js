/* Live updates and small helpers. Progressive: every page works without this file.
 *
 * A page that shows live data carries data-seq (the outbox position it was read at).
 * We open /ws/v1/events/ (same origin, session cookie), say hello from that seq and,
 * on each event the server lets through, re-fetch the server-rendered fragment
 * (data-live-src) instead of building HTML from the event. On a drop we reconnect
 * with backoff from the last seq we saw, so nothing is missed or applied twice.
 */
(function () {
  "use strict";

  function setStatus(state, text) {
    var box = document.querySelector("[data-live-status]");
    if (!box) return;
    box.classList.toggle("is-live", state === "live");
    box.classList.toggle("is-down", state === "down");
    box.querySelector("[data-live-text]").textContent = text;
  }

  function refreshTable(region) {
    var known = {};
    region.querySelectorAll("tr[data-referral]").forEach(function (row) {
      known[row.getAttribute("data-referral")] = true;
    });
    return fetch(region.getAttribute("data-live-src"), {
      credentials: "same-origin",
      // A background fetch: it must not keep an idle session alive (agencies/sessions.py).
      headers: { "X-Requested-With": "fetch", "X-SRN-Background": "refresh" },
      cache: "no-store",
    }).then(function (response) {
      if (response.redirected || !response.ok) throw new Error("refresh " + response.status);
      return response.text();
    }).then(function (html) {
      region.innerHTML = html;
      region.querySelectorAll("tr[data-referral]").forEach(function (row) {
        if (!known[row.getAttribute("data-referral")]) row.classList.add("is-new");
      });
      document.body.setAttribute("data-refreshed", String(Date.now()));
    });
  }

  function endReferralPage() {
    var body = document.querySelector("[data-referral-body]");
    var notice = document.querySelector("[data-revoked-notice]");
    if (body) body.remove(); // released fields leave the screen, not just the server
    if (notice) notice.hidden = false;
  }

  function live() {
    var seq = parseInt(document.body.getAttribute("data-seq"), 10);
    if (isNaN(seq) || !("WebSocket" in window)) return;
    var region = document.querySelector("[data-live-src]");
    var referral = document.body.getAttribute("data-referral");
    var attempt = 0, pending = false, ready = false, timer = null;

    function schedule() {
      if (!region) return;
      pending = true;
      if (!ready || timer) return; // replay first: one refresh after "ready"
      timer = setTimeout(function () {
        timer = null;
        pending = false;
        refreshTable(region).catch(function () { setStatus("down", "Could not refresh; retrying…"); pending = true; });
      }, 120);
    }

    function onEvent(message) {
      if (typeof message.seq === "number" && message.seq > seq) seq = message.seq;
      if (referral) {
        if (message.referral === referral && message.kind === "consent.revoked") endReferralPage();
        return;
      }
      schedule();
    }

    function connect() {
      var scheme = location.protocol === "https:" ? "wss://" : "ws://";
      var socket = new WebSocket(scheme + location.host + "/ws/v1/events/");
      ready = false;
      setStatus("", attempt ? "Reconnecting…" : "Connecting for live updates…");
      socket.onopen = function () {
        socket.send(JSON.stringify({ type: "hello", after: seq }));
      };
      socket.onmessage = function (frame) {
        var message;
        try { message = JSON.parse(frame.data); } catch (e) { return; }
        if (message.type === "event") onEvent(message);
        else if (message.type === "ready") {
          ready = true;
          attempt = 0;
          setStatus("live", "Live: updates appear without reloading.");
          document.body.setAttribute("data-live", "ready");
          if (pending) schedule();
        }
      };
      socket.onclose = function (event) {
        ready = false;
        document.body.setAttribute("data-live", "closed");
        if (event.code === 4001 || event.code === 4401 || event.code === 4403) {
          // Signed out, deactivated or no longer entitled: retrying cannot help.
          setStatus("down", "Your session has ended.");
          location.assign("/accounts/login/");
          return;
        }
        attempt += 1;
        var delay = Math.min(30000, 500 * Math.pow(2, Math.min(attempt, 6)));
        delay = delay / 2 + Math.random() * delay / 2;
        setStatus("down", "Live updates paused; reconnecting…");
        setTimeout(connect, delay);
      };
    }
    connect();
  }

  function sha256Helpers() {
    document.querySelectorAll("input[type=file][data-sha256-into]").forEach(function (input) {
      input.addEventListener("change", function () {
        var target = document.getElementById(input.getAttribute("data-sha256-into"));
        var file = input.files && input.files[0];
        if (!file || !target || !(window.crypto && crypto.subtle)) return;
        file.arrayBuffer().then(function (buffer) {
          return crypto.subtle.digest("SHA-256", buffer);
        }).then(function (digest) {
          target.value = Array.from(new Uint8Array(digest)).map(function (b) {
            return b.toString(16).padStart(2, "0");
          }).join("");
        });
      });
    });
  }

  /* The session signs out after a while without a request of the member's own
   * (data-session-seconds: how long this page has left). A minute before, an alert
   * dialog offers to stay signed in (one real request, which answers with the seconds
   * the session now has, X-Session-Seconds-Left); when time is up we go to the sign-in
   * page. */
  function sessionTimer() {
    var left = parseInt(document.body.getAttribute("data-session-seconds"), 10);
    var box = document.querySelector("[data-session-warning]");
    if (isNaN(left) || !box) return;
    var text = box.querySelector("[data-session-warning-text]");
    var stay = box.querySelector("[data-session-stay]");
    var deadline = Date.now() + left * 1000;
    var lifetime = parseInt(document.body.getAttribute("data-session-lifetime-seconds"), 10);
    var lastMoment = isNaN(lifetime) ? Infinity : Date.now() + lifetime * 1000;
    var lastFocus = null, timer = null, checked = null;

    function signIn() { location.assign("/accounts/login/"); }

    function show(seconds) {
      // At the session's absolute end, staying signed in is not possible.
      var final = lastMoment - deadline < 2000;
      stay.hidden = final;
      text.textContent = "For the survivors' safety, you will be signed out in " +
        seconds + (seconds === 1 ? " second" : " seconds") +
        (final ? ": this session has reached its time limit. Save your work and sign in again."
               : " unless you stay signed in.");
      if (box.hidden) {
        lastFocus = document.activeElement;
        box.hidden = false;
        (final ? box : stay).focus();
      }
    }

    function hide() {
      if (box.hidden) return;
      box.hidden = true;
      if (lastFocus && lastFocus.focus) lastFocus.focus();
    }

    // Before warning and at the end, ask the server (a background request, which does
    // not count as activity): another tab may have kept the session alive, and a
    // session found over is ended there and then (audited, its sockets closed).
    function tick() {
      clearTimeout(timer);
      var seconds = Math.ceil((deadline - Date.now()) / 1000);
      if (seconds <= 0 || (seconds <= 60 && checked !== deadline)) { check(); return; }
      if (seconds <= 60) show(seconds);
      else hide();
      timer = setTimeout(tick, seconds <= 61 ? 1000 : (seconds - 60) * 1000);
    }

    function renewFrom(response) {
      var header = parseInt(response.headers.get("X-Session-Seconds-Left"), 10);
      if (!response.ok || isNaN(header)) { signIn(); return; }
      deadline = checked = Date.now() + Math.max(1, header) * 1000;
      tick();
    }

    function check() {
      fetch("/api/v1/me/", {
        credentials: "same-origin",
        cache: "no-store",
        headers: { "X-SRN-Background": "session-check" },
      }).then(renewFrom, signIn);
    }

    stay.addEventListener("click", function () {
      stay.disabled = true;
      // A real request: it is the member's own activity and restarts the idle time.
      fetch("/api/v1/me/", { credentials: "same-origin", cache: "no-store" })
        .then(renewFrom, signIn)
        .then(function () { stay.disabled = false; });
    });
    tick();
  }

  document.addEventListener("DOMContentLoaded", function () {
    sessionTimer();
    live();
    sha256Helpers();
    var summary = document.querySelector(".error-summary");
    if (summary) summary.focus();
  });
})();
