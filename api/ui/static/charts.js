/* Draws every chart of a page with uPlot. The numbers come from the JSON block named by the
 * chart's data-chart attribute (the same numbers as the table beside it); nothing here runs
 * inline and nothing is fetched. A drawn chart gets data-drawn="true". */
(function () {
  "use strict";
  var COLOURS = ["#0969da", "#cf222e", "#1a7f37", "#8250df", "#bc4c00", "#57606a", "#bf3989"];

  function options(spec, width) {
    var series = [{ label: spec.x_label }];
    spec.series.forEach(function (s, i) {
      series.push({
        label: s.label,
        stroke: COLOURS[i % COLOURS.length],
        width: 2,
        points: { show: spec.x.length <= 60 },
        value: spec.percent
          ? function (u, v) { return v == null ? "—" : (100 * v).toFixed(1) + "%"; }
          : function (u, v) { return v == null ? "—" : String(v); }
      });
    });
    var axes = [{ label: spec.x_label }, { label: spec.y_label || "" }];
    if (spec.percent) {
      axes[1].values = function (u, ticks) {
        return ticks.map(function (t) { return (100 * t).toFixed(0) + "%"; });
      };
    }
    if (!spec.x_time) {
      // Category labels (days, versions) are wide: at least 90 px between ticks keeps them
      // from overlapping; uPlot then labels every second or fifth category.
      axes[0].space = 90;
      axes[0].values = function (u, ticks) {
        return ticks.map(function (t) {
          var text = spec.x_text ? spec.x_text[t] : spec.x[t];
          return Number.isInteger(t) && text !== undefined ? String(text) : "";
        });
      };
    }
    return {
      width: width,
      height: 260,
      scales: { x: { time: !!spec.x_time } },
      series: series,
      axes: axes,
      legend: { live: true }
    };
  }

  function data(spec) {
    var xs = spec.x_time ? spec.x : spec.x.map(function (_x, i) { return i; });
    return [xs].concat(spec.series.map(function (s) { return s.values; }));
  }

  function draw(box) {
    var source = document.getElementById(box.getAttribute("data-chart"));
    if (!source || typeof uPlot === "undefined") { return; }
    var spec = JSON.parse(source.textContent);
    var width = Math.max(280, box.clientWidth);
    var plot = new uPlot(options(spec, width), data(spec), box);
    box.setAttribute("data-drawn", "true");
    var last = width;
    window.addEventListener("resize", function () {
      var now = Math.max(280, box.clientWidth);
      if (now !== last) { last = now; plot.setSize({ width: now, height: 260 }); }
    });
  }

  document.querySelectorAll(".chart[data-chart]").forEach(draw);
})();
