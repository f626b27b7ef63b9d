// A running task's page reloads itself when the task's status changes (polls every 2 s while running).
(function () {
  var badge = document.getElementById("task-status");
  if (!badge || badge.dataset.status !== "running") return;
  function tick() {
    fetch("/tasks/status?id=" + encodeURIComponent(badge.dataset.id))
      .then(function (r) { return r.json(); })
      .then(function (data) {
        var now = data[badge.dataset.id];
        if (now && now.status !== badge.dataset.status) { window.location.reload(); return; }
        setTimeout(tick, 2000);
      })
      .catch(function () { setTimeout(tick, 5000); });
  }
  setTimeout(tick, 2000);
})();
