(function () {
  "use strict";
  // Link the two graphs and the task table: hovering a task lights it up everywhere.
  function rowOf(element) {
    var holder = element.closest("[id^='af-'], [id^='kf-'], [id^='row-']");
    return holder ? holder.id.replace(/^(af|kf|row)-/, "") : null;
  }
  function light(row, on) {
    ["af-", "kf-", "row-"].forEach(function (prefix) {
      var element = document.getElementById(prefix + row);
      if (element) { element.classList.toggle("hl", on); }
    });
  }
  document.addEventListener("mouseover", function (event) {
    var row = rowOf(event.target); if (row !== null) { light(row, true); }
  });
  document.addEventListener("mouseout", function (event) {
    var row = rowOf(event.target); if (row !== null) { light(row, false); }
  });

  // Sortable tables: click a header; numbers sort as numbers.
  document.querySelectorAll("table.sortable").forEach(function (table) {
    table.querySelectorAll("th.sortable").forEach(function (header, column) {
      header.addEventListener("click", function () {
        var body = table.tBodies[0], rows = Array.prototype.slice.call(body.rows);
        var descending = header.dataset.order !== "desc";
        header.dataset.order = descending ? "desc" : "asc";
        var index = Array.prototype.indexOf.call(header.parentNode.children, header);
        rows.sort(function (a, b) {
          var x = a.cells[index].dataset.sort || a.cells[index].textContent.trim();
          var y = b.cells[index].dataset.sort || b.cells[index].textContent.trim();
          var nx = parseFloat(x), ny = parseFloat(y);
          var order = (!isNaN(nx) && !isNaN(ny)) ? nx - ny : x.localeCompare(y);
          return descending ? -order : order;
        });
        rows.forEach(function (row) { body.appendChild(row); });
      });
    });
  });

  // Pan and zoom the graphs (svg-pan-zoom, vendored into the page): each is fitted into its frame.
  var zooms = {};
  function panZoom() {
    if (typeof window.svgPanZoom !== "function") { return; }
    document.querySelectorAll(".graph[data-graph] .graph-view svg").forEach(function (svg) {
      var graph = svg.closest(".graph");
      // a small graph gets a frame of its own height (Graphviz gives it in points), a large one 560 px
      var height = parseFloat(svg.getAttribute("height") || "0") * (/pt$/.test(svg.getAttribute("height") || "") ? 4 / 3 : 1);
      if (height > 0) { svg.parentNode.style.height = Math.max(160, Math.min(560, height + 16)) + "px"; }
      var instance = window.svgPanZoom(svg, {
        controlIconsEnabled: true, fit: true, center: true, minZoom: 0.1, maxZoom: 50,
        zoomScaleSensitivity: 0.3, dblClickZoomEnabled: false
      });
      var real = instance.getSizes().realZoom;  // fitted: never drawn larger than Graphviz drew it
      if (real > 1) { instance.zoom(instance.getZoom() / real); instance.center(); }
      zooms[graph.dataset.graph] = instance;
    });
  }

  // Record what the browser really drew, for tests and for anyone inspecting the page.
  function measure() {
    document.querySelectorAll(".graph[data-graph]").forEach(function (graph) {
      var nodes = graph.querySelectorAll("svg g.node"), drawn = 0;
      nodes.forEach(function (node) { var box = node.getBBox(); if (box.width > 0 && box.height > 0) { drawn += 1; } });
      graph.dataset.renderedNodes = String(drawn);
      graph.dataset.renderedEdges = String(graph.querySelectorAll("svg g.edge").length);
    });
    Object.keys(zooms).forEach(function (name) {
      var graph = document.querySelector(".graph[data-graph='" + name + "']");
      graph.dataset.zoom = zooms[name].getZoom().toFixed(4);
      graph.dataset.panZoom = "yes";
    });
    // the page's own check of its controls (tests open it with #selftest-zoom): click "zoom in"
    if (window.location.hash === "#selftest-zoom") {
      Object.keys(zooms).forEach(function (name) {
        var graph = document.querySelector(".graph[data-graph='" + name + "']");
        var button = graph.querySelector("#svg-pan-zoom-zoom-in");
        if (button) { button.dispatchEvent(new MouseEvent("click", { bubbles: true })); }
        graph.dataset.zoomAfterClick = zooms[name].getZoom().toFixed(4);
      });
    }
    var semantics = document.getElementById("col-semantics");
    if (semantics) {
      var box = semantics.getBoundingClientRect();
      document.body.dataset.semanticsLeft = String(Math.round(box.left));
      document.body.dataset.semanticsRight = String(Math.round(box.right));
      document.body.dataset.viewportWidth = String(document.documentElement.clientWidth);
      var table = document.getElementById("tasks").getBoundingClientRect();
      document.body.dataset.tasksRight = String(Math.round(table.right));
    }
    document.querySelectorAll("table[data-table]").forEach(function (table) {
      var visible = 0;
      Array.prototype.forEach.call(table.tBodies[0] ? table.tBodies[0].rows : [], function (row) {
        if (row.getBoundingClientRect().height > 0) { visible += 1; }
      });
      table.dataset.renderedRows = String(visible);
    });
    document.body.dataset.measured = "yes";
  }
  function start() { panZoom(); measure(); }
  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", start); } else { start(); }
})();
