"""The page's chart renderer: draws every ``div.chart`` from its JSON specification with uPlot.

Static text, no user data: the specifications (``_charts``) come in ``<script type=
"application/json">`` blocks. Every text reaches the page through ``textContent``. SLA thresholds
are dashed lines on the canvas with their label in a ``span.sla-label`` over the chart; a
threshold above the y axis (scaled to the data) is a marker at the top edge, its label saying
``↑``. A chart's labels are laid out so none overlaps another or leaves the plot: each is put at
its threshold, then pushed down past the one above it, then back up from the bottom edge. Each
label's box, as the browser laid it out, is written in ``data-box`` (``left,top,width,height``),
and so is the plot area's (``div.u-over``): what the browser test compares.

When done it marks ``<body>`` with ``data-charts-rendered`` (charts drawn), ``data-render-ms``
(milliseconds from the start of navigation to the charts drawn) and ``data-report-ready``, and
shows recorded script errors in ``#report-errors``.
"""

from __future__ import annotations

from typing import Final

__all__ = ["RENDER_SCRIPT"]

RENDER_SCRIPT: Final = r"""
(function () {
  var errors = window.__reportErrors, rendered = 0, SLA = "#d62728";
  function done() {
    document.body.setAttribute("data-charts-rendered", String(rendered));
    var pre = document.getElementById("report-errors");
    if (errors.length) { pre.textContent = errors.join("\n"); pre.hidden = false; }
    document.body.setAttribute("data-render-ms", String(Math.round(performance.now())));
    document.body.setAttribute("data-report-ready", "1");
  }
  if (typeof uPlot === "undefined") { done(); return; }
  function num(v) { return typeof v === "number" && isFinite(v); }
  function visibleTop(u, scale, floor) {
    var top = 0;
    u.series.forEach(function (s, i) {
      if (i === 0 || !s.show || s.scale !== scale) return;
      u.data[i].forEach(function (v) { if (num(v) && v > top) top = v; });
    });
    return top > 0 ? top * 1.15 : floor;
  }
  function drawBands(u, spec) {
    var ctx = u.ctx, b = u.bbox;
    ctx.save();
    ctx.fillStyle = "rgba(128,128,128,0.12)";
    spec.bands.forEach(function (band) {
      var x0 = Math.max(u.valToPos(band[0], "x", true), b.left);
      var x1 = Math.min(u.valToPos(band[1], "x", true), b.left + b.width);
      if (x1 > x0) ctx.fillRect(x0, b.top, x1 - x0, b.height);
    });
    ctx.restore();
  }
  function layoutLabels(labels, height) {
    labels.sort(function (a, b) { return a.top - b.top; });
    var i, gap = 2;
    for (i = 0; i < labels.length; i++) {
      labels[i].top = Math.max(labels[i].top, 0);
      if (i > 0) labels[i].top = Math.max(labels[i].top, labels[i - 1].top + labels[i - 1].h + gap);
    }
    for (i = labels.length - 1; i >= 0; i--) {
      var below = i === labels.length - 1 ? height : labels[i + 1].top - gap;
      var limit = below - labels[i].h;
      labels[i].top = Math.max(Math.min(labels[i].top, limit), 0);
    }
    labels.forEach(function (l) { l.el.style.top = l.top + "px"; });
  }
  function drawSla(u, spec) {
    var ctx = u.ctx, b = u.bbox, over = u.over, dpr = b.width / over.clientWidth || 1, labels = [];
    over.querySelectorAll(".sla-label").forEach(function (el) { el.remove(); });
    ctx.save();
    ctx.strokeStyle = SLA;
    ctx.fillStyle = SLA;
    ctx.lineWidth = 1.5 * dpr;
    spec.sla.forEach(function (line) {
      var scale = u.scales[line.axis];
      if (!scale || !num(scale.max)) return;
      var off = line.y > scale.max;
      var y = off ? b.top : u.valToPos(line.y, line.axis, true);
      var hasX = num(line.x), x = hasX ? u.valToPos(line.x, "x", true) : b.left + b.width;
      if (off) {
        ctx.beginPath();
        ctx.moveTo(x - 6 * dpr, y + 8 * dpr);
        ctx.lineTo(x, y);
        ctx.lineTo(x + 6 * dpr, y + 8 * dpr);
        ctx.fill();
      } else if (hasX) {
        ctx.fillRect(x - 9 * dpr, y - 1.5 * dpr, 18 * dpr, 3 * dpr);
      } else {
        ctx.setLineDash([6 * dpr, 4 * dpr]);
        ctx.beginPath(); ctx.moveTo(b.left, y); ctx.lineTo(b.left + b.width, y); ctx.stroke();
        ctx.setLineDash([]);
      }
      var el = document.createElement("span");
      el.className = "sla-label" + (off ? " off" : "");
      el.textContent = (off ? "\u2191 " : "") + line.label + (off ? " (above the chart)" : "");
      over.appendChild(el);
      var w = el.offsetWidth, h = el.offsetHeight, cssX = (x - b.left) / dpr;
      var left = hasX ? cssX - w - 12 : over.clientWidth - w - 4;
      el.style.left = Math.max(Math.min(left, over.clientWidth - w), 0) + "px";
      labels.push({el: el, top: (y - b.top) / dpr - h - 2, h: h});
    });
    ctx.restore();
    layoutLabels(labels, over.clientHeight);
    [over].concat(labels.map(function (l) { return l.el; })).forEach(function (el) {
      var r = el.getBoundingClientRect();
      el.setAttribute("data-box", [r.left, r.top, r.width, r.height].map(Math.round).join(","));
    });
  }
  function options(spec, width) {
    var logX = spec.x.log, ticks = spec.x.ticks;
    var axes = [
      {label: spec.x.label, size: 40},
      {scale: "y", label: spec.y.label, size: 60}
    ];
    if (ticks.length) {
      axes[0].splits = function () { return ticks.map(function (t) { return t[0]; }); };
      axes[0].values = function () { return ticks.map(function (t) { return t[1]; }); };
    }
    var scales = {
      x: logX ? {time: false, distr: 3, log: 10} : spec.xs.length > 1 ? {
        time: false,
        range: function (u, lo, hi) {
          return [0, Math.max(num(hi) ? hi : 0, spec.x.max || 0) || 1];
        }
      } : {time: false, auto: false, range: [0, spec.x.max || 1]},  // uPlot shows one x 0..100
      y: {range: function (u) { return [0, visibleTop(u, "y", spec.y.max)]; }}
    };
    if (spec.y2) {
      axes.push({scale: "y2", label: spec.y2.label, side: 1, size: 55, grid: {show: false}});
      scales.y2 = {range: function (u) { return [0, visibleTop(u, "y2", spec.y2.max)]; }};
    }
    var series = [{label: spec.x.label}];
    spec.series.forEach(function (s) {
      var one = {
        label: s.label, stroke: s.color, width: s.width, show: s.show, scale: s.axis,
        spanGaps: true, points: {show: s.points, size: 5}
      };
      if (s.dash) one.dash = [4, 3];
      if (s.kind === "bars") {
        one.paths = uPlot.paths.bars({size: [0.6, 40]});
        one.fill = s.color;
      }
      if (s.kind === "step") one.paths = uPlot.paths.stepped({align: 1});
      series.push(one);
    });
    return {
      title: spec.title, width: width, height: 300, series: series, axes: axes, scales: scales,
      legend: {live: false},
      hooks: {
        drawClear: [function (u) { drawBands(u, spec); }],
        draw: [function (u) { drawSla(u, spec); }]
      }
    };
  }
  var charts = [];
  document.querySelectorAll("div.chart[data-figure]").forEach(function (div) {
    try {
      var spec = JSON.parse(document.getElementById(div.getAttribute("data-figure")).textContent);
      var data = [spec.xs].concat(spec.series.map(function (s) { return s.values; }));
      var plot = new uPlot(options(spec, Math.max(div.clientWidth - 2, 300)), data, div);
      charts.push([plot, div]);
      rendered += 1;
    } catch (e) {
      errors.push(String(e));
      div.textContent = "chart failed: " + e;
    }
  });
  window.addEventListener("resize", function () {
    charts.forEach(function (c) {
      c[0].setSize({width: Math.max(c[1].clientWidth - 2, 300), height: 300});
    });
  });
  done();
})();
"""
