"""The page's own CSS and scripts (static text, no user data).

``CAPTURE_SCRIPT`` runs first and records script errors; ``_render_js.RENDER_SCRIPT`` draws the
charts and shows what was recorded.
"""

from __future__ import annotations

from typing import Final

from pytest_loadtest._report._render_js import RENDER_SCRIPT

__all__ = ["CAPTURE_SCRIPT", "RENDER_SCRIPT", "STYLE"]

# The Content-Security-Policy of the page lists these scripts' hashes, so nothing else runs.
CAPTURE_SCRIPT: Final = """
window.__reportErrors = [];
window.addEventListener("error", function (e) { window.__reportErrors.push(String(e.message)); });
window.addEventListener("unhandledrejection", function (e) {
  window.__reportErrors.push("unhandled rejection: " + String(e.reason));
});
"""
STYLE: Final = """
body{font:14px/1.4 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0 auto;
max-width:1400px;padding:0 20px 40px;color:#222}
h1{margin:18px 0 4px}h2{margin:0 0 8px;font-size:18px;overflow-wrap:break-word}
h3{margin:16px 0 6px;font-size:15px}.headline{color:#555;margin:0 0 12px}
table{border-collapse:collapse;margin:6px 0;font-variant-numeric:tabular-nums}
th,td{border-bottom:1px solid #ddd;padding:3px 10px;text-align:right;vertical-align:top}
th:first-child,td:first-child{text-align:left}th{background:#f4f4f4}
.summary td:first-child{max-width:520px;overflow-wrap:break-word}
.badge{display:inline-block;border-radius:3px;padding:0 6px;font-size:12px;font-weight:600}
.badge.pass{background:#d4edda;color:#155724}.badge.fail{background:#f8d7da;color:#721c24}
.badge.none{background:#eee;color:#555}.badge.broke{background:#fff3cd;color:#664d03}
section.result{border-top:2px solid #ccc;margin-top:26px;padding-top:14px}
dl.facts{display:flex;flex-wrap:wrap;gap:4px 18px;margin:0}dl.facts dt{color:#777}
dl.facts dd{margin:0 0 0 -12px;font-weight:600}
.charts{display:grid;grid-template-columns:repeat(auto-fit,minmax(560px,1fr));gap:10px}
.chart{min-height:330px;border:1px solid #eee;min-width:0}
.chart .u-over .sla-label{position:absolute;white-space:nowrap;font-size:11px;line-height:14px;
color:#d62728;background:rgba(255,255,255,.85);padding:0 2px;pointer-events:none}
.chart-note{color:#555;font-size:12px;margin:2px 4px}
pre{white-space:pre-wrap;word-break:break-word;margin:0;font-size:12px;text-align:left}
.notice{background:#fff3cd;border:1px solid #ffe08a;padding:8px 12px}
ul.breaches li{color:#721c24}td .step{padding-left:14px}
details.meta dl{display:grid;grid-template-columns:max-content 1fr;gap:2px 12px}
#report-errors{color:#a00}table.errors th:last-child{text-align:left}
"""
