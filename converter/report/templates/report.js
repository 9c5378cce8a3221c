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

  // Record what the browser really drew, for tests and for anyone inspecting the page.
  function measure() {
    document.querySelectorAll(".graph[data-graph]").forEach(function (graph) {
      var nodes = graph.querySelectorAll("svg g.node"), drawn = 0;
      nodes.forEach(function (node) { var box = node.getBBox(); if (box.width > 0 && box.height > 0) { drawn += 1; } });
      graph.dataset.renderedNodes = String(drawn);
      graph.dataset.renderedEdges = String(graph.querySelectorAll("svg g.edge").length);
    });
    document.querySelectorAll("table[data-table]").forEach(function (table) {
      var visible = 0;
      Array.prototype.forEach.call(table.tBodies[0] ? table.tBodies[0].rows : [], function (row) {
        if (row.getBoundingClientRect().height > 0) { visible += 1; }
      });
      table.dataset.renderedRows = String(visible);
    });
    document.body.dataset.measured = "yes";
  }
  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", measure); } else { measure(); }
})();
