// Live progress for a running campaign: poll its status, update the bar and the counts, reload once it stops
// moving by itself (done, failed, or paused by the mail guardrail: that page has no poll, so nothing spins).
(function () {
  "use strict";
  var panel = document.getElementById("progress-panel");
  if (!panel) { return; }
  var url = panel.getAttribute("data-status-url");
  function update(status) {
    document.getElementById("campaign-progress").value = status.progress;
    document.getElementById("campaign-status").textContent = status.status.replace(/_/g, " ");
    panel.querySelectorAll("[data-count]").forEach(function (cell) {
      var key = cell.getAttribute("data-count");
      if (key in status) { cell.textContent = status[key]; }
    });
    if (status.status === "done" || status.status === "failed" || status.status === "paused") {
      window.location.reload();
      return;
    }
    window.setTimeout(poll, 1000);
  }
  function poll() {
    fetch(url, { headers: { "Accept": "application/json" } })
      .then(function (response) { return response.json(); })
      .then(update)
      .catch(function () { window.setTimeout(poll, 3000); });
  }
  window.setTimeout(poll, 1000);
})();
