// "Preview periods" on the target group page: asks the admin for the periods the schedule in
// the form gives (in the org's timezone) and shows them before anything is saved.
"use strict";
(function () {
  function value(name) {
    const field = document.querySelector(`[name="${name}"]`);
    return field ? field.value : "";
  }
  function preview(button) {
    const params = new URLSearchParams();
    for (const name of ["org", "start_day", "end_day", "frequency_type", "frequency", "total_periods",
                        "target_evaluation_type"]) {
      params.set(name, value(name));
    }
    const match = window.location.pathname.match(/\/targetgroup\/(\d+)\/change\//);
    if (match) params.set("group", match[1]);
    const out = document.getElementById("period-preview");
    out.textContent = "Working out the periods…";
    fetch(`${button.dataset.url}?${params}`, {credentials: "same-origin"})
      .then((response) => response.text())
      .then((html) => { out.innerHTML = html; })
      .catch(() => { out.textContent = "The preview could not be loaded."; });
  }
  document.addEventListener("click", (event) => {
    const button = event.target.closest("#preview-periods");
    if (button) {
      event.preventDefault();
      preview(button);
    }
  });
})();
