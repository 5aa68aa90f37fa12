// The projections page: polls each rebuild under way and moves its progress bar.
"use strict";
(function () {
  function poll(box) {
    var bar = box.querySelector("progress");
    var text = box.querySelector(".rebuild-text");
    fetch(box.dataset.progress, { headers: { Accept: "application/json" }, credentials: "same-origin" })
      .then(function (answer) { return answer.json(); })
      .then(function (job) {
        box.dataset.state = job.state;
        bar.value = job.percent;
        bar.textContent = job.percent + "%";
        if (job.state === "done") {
          text.textContent = "100% · live version " + job.version;
        } else if (job.state === "failed") {
          text.textContent = "failed: " + job.error;
        } else {
          text.textContent = job.percent + "% (" + job.position + " of " + job.head + ")";
          setTimeout(function () { poll(box); }, 500);
        }
      })
      .catch(function () { setTimeout(function () { poll(box); }, 2000); });
  }
  document.querySelectorAll("[data-progress][data-state='running']").forEach(poll);
})();
