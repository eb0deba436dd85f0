/* The compliance dashboard's open alerts, kept current without a reload.
 *
 * Every POLL_SECONDS the page asks GET /api/v1/audit/alerts/ for the open alerts
 * raised after the newest it shows (each such read is audited, as any read of the
 * trail) and adds them at the top of the table. A background fetch: it does not keep
 * an idle session alive. Built with textContent only: nothing from the server is
 * parsed as HTML.
 */
(function () {
  "use strict";
  var POLL_SECONDS = 15;

  function cell(row, text, muted) {
    var td = document.createElement("td");
    td.textContent = text;
    if (muted) {
      var span = document.createElement("span");
      span.className = "muted";
      span.textContent = " " + muted;
      td.appendChild(span);
    }
    row.appendChild(td);
    return td;
  }

  function moment(iso) {
    return iso ? iso.slice(0, 16).replace("T", " ") : "";
  }

  function rowFor(alert) {
    var row = document.createElement("tr");
    row.setAttribute("data-alert", String(alert.id));
    row.className = "is-new";
    var first = document.createElement("td");
    var link = document.createElement("a");
    link.href = "/audit/alerts/" + encodeURIComponent(alert.id) + "/";
    link.textContent = "#" + alert.id;
    first.appendChild(link);
    row.appendChild(first);
    cell(row, moment(alert.created_at));
    cell(row, alert.rule_label);
    cell(row, alert.actor_username || "—", "(id " + alert.actor_user_id + ")");
    cell(row, alert.actor_agency || "—");
    cell(row, String(alert.count), "/ " + alert.threshold);
    cell(row, moment(alert.window_start));
    return row;
  }

  function start() {
    var box = document.querySelector("[data-alerts]");
    if (!box || !window.fetch) return;
    var body = box.querySelector("[data-alerts-body]");
    var status = box.querySelector("[data-alerts-status]");
    var after = parseInt(box.getAttribute("data-alerts-after"), 10) || 0;
    var timer = null;

    function poll() {
      var url = "/api/v1/audit/alerts/?acknowledged=false&page_size=50&after=" + after;
      fetch(url, {
        credentials: "same-origin",
        cache: "no-store",
        headers: { "Accept": "application/json", "X-SRN-Background": "alerts" },
      }).then(function (response) {
        if (!response.ok) throw new Error("alerts " + response.status);
        return response.json();
      }).then(function (page) {
        var fresh = page.results || [];
        if (fresh.length) {
          var none = body.querySelector("[data-alerts-none]");
          if (none) none.remove();
          // Newest first from the API: insert oldest first, each at the top.
          for (var i = fresh.length - 1; i >= 0; i--) {
            body.insertBefore(rowFor(fresh[i]), body.firstChild);
            after = Math.max(after, fresh[i].id);
          }
          box.setAttribute("data-alerts-after", String(after));
          status.textContent = fresh.length === 1 ? "1 new alert." : fresh.length + " new alerts.";
        }
        timer = setTimeout(poll, POLL_SECONDS * 1000);
      }).catch(function () {
        // Signed out or the server is away: say so and stop (a reload starts again).
        status.textContent = "Live alerts paused: reload the page to resume.";
        if (timer) clearTimeout(timer);
      });
    }

    timer = setTimeout(poll, POLL_SECONDS * 1000);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
