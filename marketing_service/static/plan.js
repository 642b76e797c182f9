// The plan of a new campaign before launch (DESIGN §14): when the list or the settings change, ask
// POST /api/campaigns/plan (with the page's CSRF token, as every session call must) and show the expected split,
// its minimum detectable effect and any warning. Without scripts, "Check the plan" renders the same server-side.
(function () {
  "use strict";
  var form = document.getElementById("new-campaign");
  var panel = document.getElementById("plan");
  if (!form || !panel) { return; }
  var url = panel.getAttribute("data-plan-url");
  var token = document.querySelector("meta[name=csrf-token]").getAttribute("content");
  var asked = 0;
  var timer = null;

  function points(share) {
    return (share * 100).toFixed(1).replace("-", "\u2212");
  }
  function paragraph(id, className, text) {
    var p = document.createElement("p");
    if (id) { p.id = id; }
    if (className) { p.className = className; }
    p.textContent = text;
    panel.appendChild(p);
    return p;
  }
  function show(plan) {
    panel.textContent = "";
    var summary = "The plan: " + plan.rows + " customers in the list";
    if (plan.targeted !== null) {
      summary += " (a sample of " + plan.sampled + " scored): about " + plan.targeted + " targeted, " + plan.offered +
        " offered and " + plan.holdout + " held out";
      if (plan.churn_rate !== null) {
        summary += ", expected to churn at " + (plan.churn_rate * 100).toFixed(1) + " % without an offer";
      }
      summary += ".";
    }
    paragraph("plan-summary", "", summary);
    if (plan.mde !== null) {
      paragraph("", "", "Smallest lift this split finds 80 % of the time (two-sided, 95 %): ");
      var strong = document.createElement("strong");
      strong.id = "plan-mde";
      strong.textContent = points(plan.mde) + " points";
      panel.lastChild.appendChild(strong);
    }
    if (plan.warning) { paragraph("plan-warning", "notice", plan.warning); }
  }
  function check() {
    var file = form.elements.file;
    if (!file || !file.files || !file.files.length) { return; }
    var mine = ++asked;
    panel.hidden = false;
    panel.textContent = "";
    paragraph("", "meta", "Checking the plan\u2026");
    var data = new FormData(form);
    fetch(url, { method: "POST", body: data, credentials: "same-origin",
                 headers: { "X-CSRFToken": token, "Accept": "application/json" } })
      .then(function (response) { return response.json().then(function (body) { return [response.ok, body]; }); })
      .then(function (answer) {
        if (mine !== asked) { return; }
        if (answer[0]) { show(answer[1]); return; }
        panel.textContent = "";
        paragraph("plan-error", "error", "No plan: " + ((answer[1].error || {}).message || "the server refused"));
      })
      .catch(function () {
        if (mine === asked) { panel.textContent = ""; paragraph("plan-error", "error", "No plan: the server did not answer."); }
      });
  }
  function soon() {
    window.clearTimeout(timer);
    timer = window.setTimeout(check, 400);
  }
  ["file", "mode", "threshold", "acceptance", "horizon_months", "offer_cost", "max_offers", "holdout"].forEach(function (name) {
    var field = form.elements[name];
    if (field) { field.addEventListener("change", soon); }
  });
})();
