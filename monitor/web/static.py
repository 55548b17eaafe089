"""The dashboard's static assets: one stylesheet, one small script, and plotly.js.

Served from this process (no CDN: the dashboard works offline) under content-hashed URLs
with a one-year `immutable` max-age, so a browser fetches plotly.js (4.5 MB) once per
version. Pages allow scripts from 'self' only (CSP), hence no inline `<script>` code: figures
travel as JSON blocks that `web.js` draws.
"""

from __future__ import annotations

import hashlib
from functools import cache

CSS = """
:root{--bg:#f6f7f9;--card:#fff;--line:#e3e6ea;--ink:#1f2328;--muted:#667085;--accent:#2f5fd0;
--red:#c62828;--redbg:#fdecea;--green:#2e7d32;--greenbg:#e8f5e9;--amber:#b26a00;--amberbg:#fff4e0;
--grey:#5f6b7a;--greybg:#eef0f3}
*{box-sizing:border-box}
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0;color:var(--ink);background:var(--bg);font-size:14px}
a{color:var(--accent);text-decoration:none}a:hover{text-decoration:underline}
header.top{display:flex;align-items:center;gap:24px;background:#1f2a44;color:#fff;padding:10px 24px}
header.top a{color:#dfe6f5}header.top a.brand{font-weight:700;font-size:16px;color:#fff}
header.top nav{display:flex;gap:16px;flex:1}header.top nav a.active{color:#fff;font-weight:600}
form.logout button{background:transparent;color:#dfe6f5;border:1px solid #55607a;border-radius:4px;padding:3px 10px;cursor:pointer}
main{padding:16px 24px;max-width:1500px;margin:0 auto}
h1{font-size:22px;margin:4px 0 12px;word-break:break-word}
h2{font-size:16px;margin:0 0 10px}
section.card{background:var(--card);border:1px solid var(--line);border-radius:8px;padding:14px 18px;margin:0 0 16px}
.row{display:grid;grid-template-columns:repeat(auto-fit,minmax(460px,1fr));gap:16px}
.row>section.card{margin:0}
.muted{color:var(--muted)}.small{font-size:12px}
dl.meta{display:grid;grid-template-columns:max-content 1fr;gap:2px 16px;margin:0}
dl.meta dt{color:var(--muted)}dl.meta dd{margin:0;word-break:break-word}
table.grid{border-collapse:collapse;width:100%}
table.grid th,table.grid td{border-bottom:1px solid var(--line);padding:5px 8px;text-align:left;vertical-align:top}
table.grid th{color:var(--muted);font-weight:600;background:#fafbfc}
table.grid td{word-break:break-word}
table.sortable th{cursor:pointer;user-select:none}
table.sortable th.asc::after{content:" \\25B2";font-size:10px}table.sortable th.desc::after{content:" \\25BC";font-size:10px}
td.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
table.grid td.word{word-break:normal;overflow-wrap:normal;white-space:nowrap}
tr.drifted td{background:#fff6f6}
.badge{display:inline-block;border-radius:10px;padding:1px 9px;font-size:12px;font-weight:600;white-space:nowrap}
.badge.drift,.badge.firing,.badge.critical,.badge.failed{background:var(--redbg);color:var(--red)}
.badge.ok,.badge.resolved,.badge.delivered,.badge.succeeded{background:var(--greenbg);color:var(--green)}
.badge.warning,.badge.pending,.badge.insufficient_data{background:var(--amberbg);color:var(--amber)}
.badge.none,.badge.info,.badge.skipped{background:var(--greybg);color:var(--grey)}
.chart{min-height:280px}.chart.small{min-height:220px}.dist{min-height:230px}
.charts{display:grid;grid-template-columns:repeat(auto-fill,minmax(420px,1fr));gap:10px}
.charts figure{margin:0;border:1px solid var(--line);border-radius:6px;padding:6px}
.charts figcaption{font-weight:600;padding:2px 4px 0;word-break:break-word}
svg.spark{display:block}
.heat-wrap{overflow-x:auto}
table.heat{border-collapse:separate;border-spacing:2px}
table.heat th{font-weight:600;color:var(--muted);font-size:12px;padding:2px 6px;white-space:nowrap}
table.heat th.feat{text-align:right;max-width:280px;overflow:hidden;text-overflow:ellipsis;color:var(--ink)}
table.heat td{padding:0}
table.heat td a{display:block;min-width:64px;padding:6px 4px;text-align:center;border-radius:4px;color:#1f2328;font-variant-numeric:tabular-nums;font-size:12px}
table.heat td a:hover{outline:2px solid #1f2a44;text-decoration:none}
table.heat td.drifted a{font-weight:700;color:#fff}
table.heat td.none span{display:block;min-width:64px;padding:6px 4px;text-align:center;color:var(--muted)}
.legend{display:flex;gap:12px;align-items:center;font-size:12px;color:var(--muted);margin-top:8px;flex-wrap:wrap}
.legend i{display:inline-block;width:18px;height:12px;border-radius:3px;vertical-align:middle;margin-right:4px}
details summary{cursor:pointer}
details>div{margin:8px 0 4px 16px}
form.pick{display:flex;gap:10px;align-items:end;flex-wrap:wrap}
form.pick label{display:flex;flex-direction:column;gap:3px;color:var(--muted);font-size:12px}
select,input[type=password],input[type=text]{font:inherit;padding:5px 8px;border:1px solid #c5cbd3;border-radius:5px;background:#fff}
button.primary{font:inherit;background:var(--accent);color:#fff;border:0;border-radius:5px;padding:6px 14px;cursor:pointer}
.login{max-width:380px;margin:80px auto}
.login form{display:flex;flex-direction:column;gap:10px}
p.error{color:var(--red)}
.kpis{display:flex;gap:24px;flex-wrap:wrap;margin:4px 0 0}
.kpis div{display:flex;flex-direction:column}.kpis b{font-size:18px}
.side{display:grid;grid-template-columns:1fr 1fr;gap:16px}
"""

JS = """
(function(){
  'use strict';
  function draw(){
    if (!window.Plotly) return;
    document.querySelectorAll('script[type="application/json"][data-figure]').forEach(function(node){
      var fig = JSON.parse(node.textContent);
      var div = document.getElementById(node.getAttribute('data-figure'));
      if (!div) return;
      Plotly.newPlot(div, fig.data, fig.layout, {displayModeBar:false, responsive:true});
      if (fig.open_runs) {
        div.on('plotly_click', function(ev){
          var id = ev && ev.points && ev.points[0] && ev.points[0].customdata;
          if (typeof id === 'number' && Number.isInteger(id) && id > 0) {
            window.location.assign('/runs/' + id);
          }
        });
      }
    });
  }
  function key(row, i, kind){
    var cell = row.children[i]; if (!cell) return '';
    var v = cell.hasAttribute('data-v') ? cell.getAttribute('data-v') : cell.textContent.trim();
    if (kind === 'num') { var n = parseFloat(v); return isNaN(n) ? -Infinity : n; }
    return v.toLowerCase();
  }
  function sortable(table){
    var ths = table.querySelectorAll('thead th[data-sort]');
    ths.forEach(function(th, i){
      function go(){
        var asc = !th.classList.contains('asc');
        ths.forEach(function(o){ o.classList.remove('asc', 'desc'); });
        th.classList.add(asc ? 'asc' : 'desc');
        var kind = th.getAttribute('data-sort'), body = table.tBodies[0];
        var rows = Array.prototype.slice.call(body.rows);
        rows.sort(function(a, b){
          var x = key(a, i, kind), y = key(b, i, kind);
          return (x < y ? -1 : x > y ? 1 : 0) * (asc ? 1 : -1);
        });
        rows.forEach(function(r){ body.appendChild(r); });
      }
      th.addEventListener('click', go);
      th.addEventListener('keydown', function(ev){ if (ev.key === 'Enter') go(); });
    });
  }
  document.querySelectorAll('table.sortable').forEach(sortable);
  draw();
})();
"""


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:12]


CSS_URL = f"/static/web-{_digest(CSS)}.css"
JS_URL = f"/static/web-{_digest(JS)}.js"


@cache
def plotly_version() -> str:
    from plotly.offline import get_plotlyjs_version

    return get_plotlyjs_version()


def plotly_url() -> str:
    return f"/static/plotly-{plotly_version()}.min.js"


@cache
def plotly_js() -> bytes:
    from monitor.reports.render import plotly_js as reports_plotly_js  # cached, script-safe

    return reports_plotly_js().encode()
