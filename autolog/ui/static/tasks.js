// Live task table: re-fetch the table fragment (same filters, same page) and swap it in.
// Every 2 s while a task on the page is running, every 15 s otherwise (new tasks appear too).
(function () {
  var box = document.getElementById("task-table");
  if (!box) return;
  function running() { return box.querySelector('tr[data-status="running"]') !== null; }
  function tick() {
    fetch(box.dataset.refresh, { headers: { "Accept": "text/html" } })
      .then(function (r) { return r.ok ? r.text() : null; })
      .then(function (html) { if (html !== null) box.innerHTML = html; })
      .catch(function () {})
      .then(function () { setTimeout(tick, running() ? 2000 : 15000); });
  }
  setTimeout(tick, running() ? 2000 : 15000);
})();
