// A running task's page follows the run: every 2 s it asks for the task's status and counts; new snapshots
// replace the Output Models list in place (same page of it), and the page reloads when the task ends.
(function () {
  var badge = document.getElementById("task-status");
  if (!badge || badge.dataset.status !== "running") return;
  var box = document.getElementById("outputs-box");
  var outputs = box ? Number(box.dataset.count) : null;
  function refreshOutputs() {
    if (!box) return Promise.resolve();
    return fetch(box.dataset.refresh, { headers: { "Accept": "text/html" } })
      .then(function (r) { return r.ok ? r.text() : null; })
      .then(function (html) { if (html !== null) box.innerHTML = html; });
  }
  function tick() {
    fetch("/tasks/status?counts=1&id=" + encodeURIComponent(badge.dataset.id))
      .then(function (r) { return r.json(); })
      .then(function (data) {
        var now = data[badge.dataset.id];
        if (now && now.status !== badge.dataset.status) { window.location.reload(); return null; }
        var changed = now && outputs !== null && now.outputs !== outputs;
        if (now) outputs = now.outputs;
        return changed ? refreshOutputs() : null;
      })
      .then(function () { setTimeout(tick, 2000); })
      .catch(function () { setTimeout(tick, 5000); });
  }
  setTimeout(tick, 500);
})();
