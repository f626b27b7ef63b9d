// Lineage graph: nodes and edges from the server, laid out by dagre (static/vendor/dagre.min.js, MIT),
// drawn as SVG. Every node is a link. Drag to pan, wheel to zoom, "fit" to see it all; the depth control
// asks the server for more or fewer generations (large neighbourhoods come collapsed into "+N more" nodes).
(function () {
  var box = document.getElementById("lineage");
  if (!box || typeof dagre === "undefined") return;
  var svg = document.getElementById("lineage-svg");
  var NS = "http://www.w3.org/2000/svg";
  var view = null, bounds = null;

  function el(name, attrs, parent) {
    var node = document.createElementNS(NS, name);
    for (var k in attrs) node.setAttribute(k, attrs[k]);
    if (parent) parent.appendChild(node);
    return node;
  }
  function clip(text, n) { return text.length > n ? text.slice(0, n - 1) + "…" : text; }
  function setView(v) { view = v; svg.setAttribute("viewBox", v.x + " " + v.y + " " + v.w + " " + v.h); }
  function fit() {
    if (!bounds) return;
    var pad = 20, w = Math.max(bounds.w + 2 * pad, box.clientWidth), h = Math.max(bounds.h + 2 * pad, box.clientHeight);  // never zoom past 1:1
    var ratio = box.clientWidth / box.clientHeight;
    if (w / h < ratio) w = h * ratio; else h = w / ratio;
    setView({ x: bounds.w / 2 - w / 2, y: bounds.h / 2 - h / 2, w: w, h: h });
  }

  function draw(data) {
    while (svg.firstChild) svg.removeChild(svg.firstChild);
    var g = new dagre.graphlib.Graph();
    g.setGraph({ rankdir: "LR", nodesep: 18, ranksep: 60, marginx: 10, marginy: 10 });
    g.setDefaultEdgeLabel(function () { return {}; });
    data.nodes.forEach(function (n) {
      var label = clip(n.label, 30), sub = clip(n.sub || "", 34);
      var width = Math.max(label.length * 7.2, sub.length * 6) + 24;
      g.setNode(n.id, { width: width, height: 40, data: n, label: label, sub: sub });
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
      var cls = "node " + d.kind + (d.center ? " center" : "") + (d.status ? " " + d.status : "");
      var a = el("a", { href: d.href, "class": cls, "data-id": d.id, "data-kind": d.kind }, nodes);
      el("title", {}, a).textContent = d.label + "\n" + (d.sub || "");
      el("rect", { x: n.x - n.width / 2, y: n.y - n.height / 2, width: n.width, height: n.height, rx: 6 }, a);
      el("text", { x: n.x, y: n.y - 3, "text-anchor": "middle" }, a).textContent = n.label;
      el("text", { x: n.x, y: n.y + 12, "text-anchor": "middle", "class": "sub" }, a).textContent = n.sub;
    });
    var graph = g.graph();
    bounds = { w: graph.width || 100, h: graph.height || 100 };
    box.style.height = Math.round(Math.min(640, Math.max(200, bounds.h + 60))) + "px";  // small graphs, small box
    fit();
    var note = document.getElementById("graph-note");
    note.textContent = data.nodes.length + " nodes, " + data.edges.length + " edges" +
      (data.truncated ? " (stopped at " + data.max_nodes + " nodes: lower the depth or open a node)" : "");
    box.dataset.ready = "1";
  }

  function load() {
    var depth = document.getElementById("depth").value;
    box.dataset.ready = "";
    fetch(box.dataset.src + "?depth=" + encodeURIComponent(depth))
      .then(function (r) { return r.json(); }).then(draw)
      .catch(function (err) { document.getElementById("graph-note").textContent = "could not load: " + err; });
  }

  // pan and zoom
  var drag = null;
  svg.addEventListener("mousedown", function (ev) {
    if (ev.target.closest && ev.target.closest("a")) return;
    drag = { x: ev.clientX, y: ev.clientY, view: view };
  });
  window.addEventListener("mousemove", function (ev) {
    if (!drag || !view) return;
    var s = view.w / box.clientWidth;
    setView({ x: drag.view.x - (ev.clientX - drag.x) * s, y: drag.view.y - (ev.clientY - drag.y) * s,
              w: view.w, h: view.h });
  });
  window.addEventListener("mouseup", function () { drag = null; });
  svg.addEventListener("wheel", function (ev) {
    if (!view) return;
    ev.preventDefault();
    var k = ev.deltaY > 0 ? 1.15 : 1 / 1.15, r = svg.getBoundingClientRect();
    var px = view.x + (ev.clientX - r.left) / r.width * view.w, py = view.y + (ev.clientY - r.top) / r.height * view.h;
    setView({ x: px - (px - view.x) * k, y: py - (py - view.y) * k, w: view.w * k, h: view.h * k });
  }, { passive: false });
  document.getElementById("fit").addEventListener("click", fit);
  document.getElementById("depth").addEventListener("change", load);
  load();
})();
