// Lineage graph: nodes and edges from the server, laid out by dagre (static/vendor/dagre.min.js, MIT),
// drawn as SVG. Every node is a link ("+N more" nodes open the list they count). Drag (mouse or one finger)
// pans, the wheel or a pinch zooms, "fit" shows as much as stays readable: labels never shrink below
// MIN_SCALE of their size, so a big graph (or a phone) pans instead of shrinking. The depth and the node the
// view is centred on live in the URL (?depth=&focus=), so a view can be shared or reloaded.
(function () {
  var box = document.getElementById("lineage");
  if (!box || typeof dagre === "undefined") return;
  var svg = document.getElementById("lineage-svg");
  var NS = "http://www.w3.org/2000/svg";
  var MIN_SCALE = 0.9, MAX_SCALE = 3;  // screen px per graph unit: 12 px labels stay >= 10.8 px
  var view = null, bounds = null, placed = {}, centerId = null;
  var params = new URLSearchParams(window.location.search);
  var depthBox = document.getElementById("depth");
  if (params.get("depth") && depthBox.querySelector('option[value="' + params.get("depth") + '"]')) {
    depthBox.value = params.get("depth");
  }
  var focus = params.get("focus");

  function el(name, attrs, parent) {
    var node = document.createElementNS(NS, name);
    for (var k in attrs) node.setAttribute(k, attrs[k]);
    if (parent) parent.appendChild(node);
    return node;
  }
  function clip(text, n) { return text.length > n ? text.slice(0, n - 1) + "…" : text; }
  function scale() { return view ? box.clientWidth / view.w : 1; }
  function setView(v) {
    var ratio = box.clientHeight / Math.max(1, box.clientWidth);
    var s = Math.min(MAX_SCALE, Math.max(MIN_SCALE, box.clientWidth / v.w));
    var cx = v.x + v.w / 2, cy = v.y + v.h / 2, w = box.clientWidth / s, h = w * ratio;
    view = { x: cx - w / 2, y: cy - h / 2, w: w, h: h };
    svg.setAttribute("viewBox", view.x + " " + view.y + " " + view.w + " " + view.h);
    box.dataset.scale = s.toFixed(3);
  }
  function centerOn(x, y, s) {
    var w = box.clientWidth / s, h = box.clientHeight / s;
    setView({ x: x - w / 2, y: y - h / 2, w: w, h: h });
  }
  function fit() {
    if (!bounds) return;
    var pad = 20, s = Math.min(1, box.clientWidth / (bounds.w + 2 * pad), box.clientHeight / (bounds.h + 2 * pad));
    if (s >= MIN_SCALE) { centerOn(bounds.w / 2, bounds.h / 2, s); return; }
    var at = placed[focus] || placed[centerId];  // too big to show readable: show the centre, pan for the rest
    if (at) centerOn(at.x, at.y, MIN_SCALE); else centerOn(bounds.w / 2, bounds.h / 2, MIN_SCALE);
  }
  function remember() {  // the node nearest the middle of the view goes into the URL as ?focus=
    if (!view) return;
    var cx = view.x + view.w / 2, cy = view.y + view.h / 2, best = null, bestD = Infinity;
    for (var id in placed) {
      var d = Math.pow(placed[id].x - cx, 2) + Math.pow(placed[id].y - cy, 2);
      if (d < bestD) { bestD = d; best = id; }
    }
    if (best) { focus = best; writeUrl(); }
  }
  function writeUrl() {
    var p = new URLSearchParams(window.location.search);
    p.set("depth", depthBox.value);
    if (focus) p.set("focus", focus); else p.delete("focus");
    history.replaceState(null, "", window.location.pathname + "?" + p.toString() + window.location.hash);
  }

  function draw(data) {
    while (svg.firstChild) svg.removeChild(svg.firstChild);
    placed = {};
    var g = new dagre.graphlib.Graph();
    g.setGraph({ rankdir: "LR", nodesep: 18, ranksep: 60, marginx: 10, marginy: 10 });
    g.setDefaultEdgeLabel(function () { return {}; });
    data.nodes.forEach(function (n) {
      var label = clip(n.label, 30), sub = clip(n.sub || "", 34);
      var width = Math.max(label.length * 7.2, sub.length * 6) + 24;
      g.setNode(n.id, { width: width, height: 40, data: n, label: label, sub: sub });
      if (n.center) centerId = n.id;
    });
    data.edges.forEach(function (e) { g.setEdge(e.source, e.target, { kind: e.kind }); });
    dagre.layout(g);
    var defs = el("defs", {}, svg);
    var marker = el("marker", { id: "arrow", viewBox: "0 0 10 10", refX: "10", refY: "5", markerWidth: "7",
                                markerHeight: "7", orient: "auto-start-reverse" }, defs);
    el("path", { d: "M 0 0 L 10 5 L 0 10 z", fill: "#8a93a6" }, marker);
    var edges = el("g", { "class": "edges" }, svg);
    g.edges().forEach(function (e) {
      var info = g.edge(e), pts = info.points;
      var d = "M" + pts.map(function (p) { return p.x.toFixed(1) + "," + p.y.toFixed(1); }).join(" L");
      var path = el("path", { d: d, "class": "edge " + info.kind, "marker-end": "url(#arrow)",
                              "data-source": e.v, "data-target": e.w, "data-kind": info.kind }, edges);
      el("title", {}, path).textContent = info.kind;
    });
    var nodes = el("g", { "class": "nodes" }, svg);
    g.nodes().forEach(function (id) {
      var n = g.node(id), d = n.data;
      placed[id] = { x: n.x, y: n.y };
      var cls = "node " + d.kind + (d.center ? " center" : "") + (d.status ? " " + d.status : "");
      var a = el("a", { href: d.href, "class": cls, "data-id": d.id, "data-kind": d.kind }, nodes);
      el("title", {}, a).textContent = d.label + "\n" + (d.sub || "");
      el("rect", { x: n.x - n.width / 2, y: n.y - n.height / 2, width: n.width, height: n.height, rx: 6 }, a);
      el("text", { x: n.x, y: n.y - 3, "text-anchor": "middle" }, a).textContent = n.label;
      el("text", { x: n.x, y: n.y + 12, "text-anchor": "middle", "class": "sub" }, a).textContent = n.sub;
    });
    var graph = g.graph();
    bounds = { w: graph.width || 100, h: graph.height || 100 };
    box.style.height = Math.round(Math.min(640, Math.max(200, bounds.h * MIN_SCALE + 60))) + "px";
    if (focus && !placed[focus]) focus = null;
    if (focus) centerOn(placed[focus].x, placed[focus].y, Math.max(MIN_SCALE, Math.min(1, scale()))); else fit();
    var note = document.getElementById("graph-note");
    note.textContent = data.nodes.length + " nodes, " + data.edges.length + " edges" +
      (data.truncated ? " (stopped at " + data.max_nodes + " nodes: lower the depth or open a node)" : "");
    box.dataset.ready = "1";
  }

  function load() {
    box.dataset.ready = "";
    fetch(box.dataset.src + "?depth=" + encodeURIComponent(depthBox.value))
      .then(function (r) { return r.json(); }).then(draw)
      .catch(function (err) { document.getElementById("graph-note").textContent = "could not load: " + err; });
  }

  // pan and zoom: pointer events cover mouse, pen and touch; two fingers pinch
  var pointers = {}, gesture = null, moved = false;
  function snapshot() {
    var ids = Object.keys(pointers), r = svg.getBoundingClientRect();
    if (!ids.length) return null;
    var a = pointers[ids[0]], b = pointers[ids[1]] || a;
    return { mx: (a.x + b.x) / 2 - r.left, my: (a.y + b.y) / 2 - r.top, dist: Math.hypot(a.x - b.x, a.y - b.y),
             n: ids.length, view: view };
  }
  svg.addEventListener("pointerdown", function (ev) {
    pointers[ev.pointerId] = { x: ev.clientX, y: ev.clientY };
    gesture = snapshot();
    moved = false;
  });
  window.addEventListener("pointermove", function (ev) {
    if (!(ev.pointerId in pointers) || !view || !gesture) return;
    pointers[ev.pointerId] = { x: ev.clientX, y: ev.clientY };
    var now = snapshot(), start = gesture.view, k = start.w / box.clientWidth;
    if (now.n !== gesture.n) { gesture = now; return; }
    if (Math.abs(now.mx - gesture.mx) + Math.abs(now.my - gesture.my) > 4) moved = true;
    var zoom = now.n > 1 && gesture.dist > 0 ? gesture.dist / Math.max(1, now.dist) : 1;
    if (zoom !== 1) moved = true;
    var px = start.x + gesture.mx * k, py = start.y + gesture.my * k;  // graph point under the gesture's start
    var w = start.w * zoom, h = start.h * zoom, k2 = w / box.clientWidth;
    setView({ x: px - now.mx * k2, y: py - now.my * k2, w: w, h: h });
  });
  function release(ev) {
    if (!(ev.pointerId in pointers)) return;
    delete pointers[ev.pointerId];
    gesture = snapshot();
    if (!gesture && moved) remember();
  }
  window.addEventListener("pointerup", release);
  window.addEventListener("pointercancel", release);
  svg.addEventListener("click", function (ev) { if (moved) { ev.preventDefault(); moved = false; } }, true);
  svg.addEventListener("wheel", function (ev) {
    if (!view) return;
    ev.preventDefault();
    var k = ev.deltaY > 0 ? 1.15 : 1 / 1.15, r = svg.getBoundingClientRect();
    var px = view.x + (ev.clientX - r.left) / r.width * view.w, py = view.y + (ev.clientY - r.top) / r.height * view.h;
    setView({ x: px - (px - view.x) * k, y: py - (py - view.y) * k, w: view.w * k, h: view.h * k });
    remember();
  }, { passive: false });
  document.getElementById("fit").addEventListener("click", function () { focus = null; fit(); writeUrl(); });
  depthBox.addEventListener("change", function () { writeUrl(); load(); });
  load();
})();
