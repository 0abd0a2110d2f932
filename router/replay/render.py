"""Rendering an impact report (replay or shadow) as a text table, JSON, or one self-contained HTML file.

The HTML report is a single file with its styles, script and data inline and a Content-Security-Policy
that forbids every network request; the data is embedded as JSON and put on the page with textContent
only (nothing from a receipt is ever parsed as HTML). It shows the summary, the cost per budget window,
filters (change class, more permissive, text; `#q=TEXT` in the address pre-fills the text filter) and, per changed decision, the decision before and after.
"""

from __future__ import annotations

import json

from router.render import escape_controls, table
from router.replay import compare
from router.replay.core import Report


def _esc(text: object) -> str:
    return escape_controls(str(text))


def _table(rows: list[list[str]], headers: list[str]) -> str:
    return table(rows, headers)


def _money(value: object) -> str:
    return "-" if value is None else f"{value:.6f}".rstrip("0").rstrip(".") if isinstance(value, float) else str(value)


def text(report: Report, limit: int | None = None) -> str:
    d = report.to_dict()
    s = d["summary"]
    lines = []
    title = "replay" if report.mode == "replay" else "shadow evaluation"
    lines.append(f"{title} of {report.source}")
    if report.mode == "replay":
        lines.append(f"  receipts: {s['receipts']}, replayed: {s['compared']}, not replayable (no stored input): {s['notReplayable']}")
        base = report.baseline
        lines.append(f"  candidate policy: {report.candidate.get('policy')} (revision {report.candidate.get('revision')})")
        lines.append("  baseline: " + (f"{base['policy']} (revision {base['revision']})" if base.get("policy") else "the recorded decisions"))
    else:
        lines.append(f"  disagreements recorded: {s['compared']}")
    pct = (100.0 * s["changed"] / s["compared"]) if s["compared"] else 0.0
    lines.append(f"changed decisions: {s['changed']} of {s['compared']} ({pct:.1f} %)")
    for c in compare.CLASSES:
        lines.append(f"  {compare.CLASS_LABELS[c]:<22}{s['classes'][c]}")
    lines.append(f"  {'more permissive':<22}{s['morePermissive']}")
    cost = d["cost"]
    lines.append(f"estimated cost: {_money(cost['total']['before'])} -> {_money(cost['total']['after'])} (delta {_money(cost['total']['delta'])})")
    if cost["windows"]:
        lines.append("estimated cost delta per budget window:")
        rows = [[r["window"], r["period"], str(r["decisions"]), _money(r["before"]), _money(r["after"]), _money(r["delta"]),
                 f"{_money(r['maxSpendBefore'])} -> {_money(r['maxSpendAfter'])}"] for r in cost["windows"]]
        lines.extend(_indent(_table(rows, ["window", "period", "decisions", "before", "after", "delta", "maxSpend"])).splitlines())
    changed = report.changed if limit is None else report.changed[:limit]
    if changed:
        lines.append("changed decisions:")
        rows = []
        for e in changed:
            rows.append([
                str(e.request.get("requestId") or "-"), compare.outcome(e.before), compare.outcome(e.after),
                ",".join(e.classes) + (f" [{e.more_permissive}]" if e.more_permissive else ""),
                f"{'/'.join(e.before.get('reasons') or [])} -> {'/'.join(e.after.get('reasons') or [])}",
            ])
        lines.extend(_indent(_table(rows, ["request", "before", "after", "changes", "reasons"])).splitlines())
        if limit is not None and len(report.changed) > limit:
            lines.append(f"  ... {len(report.changed) - limit} more (use --format json or html for all)")
    if report.skipped:
        lines.append(f"not replayable ({len(report.skipped)}):")
        for item in report.skipped[:20]:
            lines.append(f"  line {item['line']} {item.get('requestId') or '-'}: {_esc(item['why'])}")
    if report.gate:
        g = report.gate
        lines.append("gate: " + ("passed" if g["passed"] else "FAILED: " + "; ".join(g["failures"])))
    return "\n".join(_esc(line) for line in lines)


def _indent(block: str) -> str:
    return "\n".join("  " + line for line in block.splitlines())


def as_json(report: Report) -> str:
    return json.dumps(report.to_dict(), indent=2, sort_keys=True, ensure_ascii=False)


_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:24px;color:#1d232a;background:#fff}
h1{font-size:22px;margin:0 0 4px} h2{font-size:17px;margin:24px 0 8px} .meta{color:#55606b;font-size:13px}
.cards{display:flex;flex-wrap:wrap;gap:10px;margin-top:14px}
.card{border:1px solid #d5dbe1;border-radius:8px;padding:10px 14px;min-width:120px}
.card .n{font-size:24px;font-weight:600} .card .l{font-size:12px;color:#55606b}
.card.warn{border-color:#d9822b;background:#fff6ec} .card.bad{border-color:#c23030;background:#fdecec}
table{border-collapse:collapse;font-size:13px;width:100%} th,td{border-bottom:1px solid #e3e7eb;padding:5px 8px;text-align:left;vertical-align:top}
th{background:#f3f5f7} .tag{display:inline-block;border-radius:4px;padding:1px 6px;margin:1px;font-size:11px;background:#e8eef5}
.tag.permissive{background:#fdecec;color:#a11} .before{color:#6b3f00} .after{color:#0b5a2a}
.filters{display:flex;flex-wrap:wrap;gap:12px;align-items:center;margin:8px 0;font-size:13px}
.gate-pass{color:#0b5a2a;font-weight:600} .gate-fail{color:#c23030;font-weight:600} code{font-size:12px}
"""

_JS = r"""
(function(){
  var data = JSON.parse(document.getElementById('report-data').textContent);
  var labels = {status:'status changed', route:'lane/target changed', model:'model changed', cost:'cost changed', reasons:'reasons changed'};
  function el(tag, cls, text){ var e=document.createElement(tag); if(cls) e.className=cls; if(text!==undefined&&text!==null) e.textContent=String(text); return e; }
  function money(v){ return (v===null||v===undefined)?'-':String(Math.round(v*1e6)/1e6); }
  function outcome(s){ var t=(s.status||'-')+' '+(s.route||'-')+' ('+(s.reason||'-')+')'; if(s.model) t+=' model '+s.model; return t; }
  var S = data.summary;
  document.getElementById('title').textContent = (data.mode==='replay'?'Policy change impact':'Shadow evaluation disagreements');
  var meta = document.getElementById('meta');
  meta.textContent = 'log: '+data.source+' | candidate: '+(data.candidate.policy||'-')+' ('+(data.candidate.revision||'-')+') | baseline: '+
    (data.baseline.policy? data.baseline.policy+' ('+data.baseline.revision+')' : 'the recorded decisions');
  var cards = document.getElementById('cards');
  function card(n,l,cls){ var c=el('div','card'+(cls?' '+cls:'')); c.appendChild(el('div','n',n)); c.appendChild(el('div','l',l)); cards.appendChild(c); }
  if (data.mode==='replay') { card(S.receipts,'receipts'); card(S.compared,'replayed'); if(S.notReplayable) card(S.notReplayable,'not replayable','warn'); }
  card(S.changed,'changed decisions', S.changed? 'warn':'');
  Object.keys(labels).forEach(function(k){ card(S.classes[k], labels[k]); });
  card(S.morePermissive,'more permissive', S.morePermissive? 'bad':'');
  var g = document.getElementById('gate');
  if (data.gate) { g.className = data.gate.passed?'gate-pass':'gate-fail'; g.textContent = data.gate.passed? 'CI gate: passed' : 'CI gate: FAILED - '+data.gate.failures.join('; '); }
  document.getElementById('summary-line').textContent = 'Changed decisions: '+S.changed+' of '+S.compared+
    ' | more permissive: '+S.morePermissive+' | estimated cost delta: '+money(data.cost.total.delta);
  var cb = document.getElementById('cost-body');
  data.cost.windows.forEach(function(r){ var tr=el('tr'); [r.window,r.period,r.decisions,money(r.before),money(r.after),money(r.delta),money(r.maxSpendBefore)+' \u2192 '+money(r.maxSpendAfter)].forEach(function(v){ tr.appendChild(el('td',null,v)); }); cb.appendChild(tr); });
  var filters = document.getElementById('class-filters');
  Object.keys(labels).forEach(function(k){ var l=el('label'); var i=el('input'); i.type='checkbox'; i.checked=true; i.value=k; i.className='cls'; l.appendChild(i); l.appendChild(document.createTextNode(' '+labels[k]+' ('+S.classes[k]+')')); filters.appendChild(l); });
  var body = document.getElementById('changes-body');
  var rows = data.changed.map(function(e){
    var tr = el('tr');
    tr.appendChild(el('td',null,e.requestId||'-'));
    var b = el('td','before',outcome(e.before)); b.appendChild(el('div',null,'reasons: '+(e.before.reasons||[]).join(', ')+' | cost '+money(e.before.estimatedCost))); tr.appendChild(b);
    var a = el('td','after',outcome(e.after)); a.appendChild(el('div',null,'reasons: '+(e.after.reasons||[]).join(', ')+' | cost '+money(e.after.estimatedCost))); tr.appendChild(a);
    var c = el('td'); e.classes.forEach(function(k){ c.appendChild(el('span','tag',labels[k])); }); if(e.morePermissive) c.appendChild(el('span','tag permissive','more permissive: '+e.morePermissive)); tr.appendChild(c);
    tr.appendChild(el('td',null,(e.evaluation&&e.evaluation.time)||'-'));
    body.appendChild(tr);
    return {tr:tr, e:e, text:JSON.stringify([e.requestId,e.before,e.after,e.request]).toLowerCase()};
  });
  function apply(){
    var on = Array.prototype.slice.call(document.querySelectorAll('input.cls')).filter(function(i){return i.checked;}).map(function(i){return i.value;});
    var perm = document.getElementById('only-permissive').checked;
    var q = document.getElementById('search').value.toLowerCase();
    var shown = 0;
    rows.forEach(function(r){ var ok = r.e.classes.some(function(k){return on.indexOf(k)>=0;}) && (!perm || r.e.morePermissive) && (!q || r.text.indexOf(q)>=0); r.tr.style.display = ok?'':'none'; if(ok) shown++; });
    document.getElementById('shown').textContent = shown+' of '+rows.length+' shown';
  }
  var m = /^#q=(.*)$/.exec(location.hash || '');
  if (m) { document.getElementById('search').value = decodeURIComponent(m[1]); }
  document.querySelectorAll('input').forEach(function(i){ i.addEventListener('input', apply); i.addEventListener('change', apply); });
  apply();
  var sk = document.getElementById('skipped');
  if (data.notReplayable && data.notReplayable.length) { sk.appendChild(el('h2',null,'Not replayable ('+data.notReplayable.length+')')); data.notReplayable.forEach(function(s){ sk.appendChild(el('div','meta','line '+s.line+' '+(s.requestId||'-')+': '+s.why)); }); }
})();
"""


def html(report: Report) -> str:
    payload = json.dumps(report.to_dict(), sort_keys=True, ensure_ascii=True)
    payload = payload.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    title = "Policy change impact" if report.mode == "replay" else "Shadow evaluation disagreements"
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data:">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title><style>{_CSS}</style></head>
<body>
<h1 id="title">{title}</h1>
<div class="meta" id="meta"></div>
<noscript><p>This report renders its tables with JavaScript; the data is in the report-data element of this file (JSON).</p></noscript>
<h2>Summary</h2>
<div id="summary-line"></div>
<div class="cards" id="cards"></div>
<p id="gate"></p>
<h2>Estimated cost per budget window</h2>
<table><thead><tr><th>window</th><th>period</th><th>decisions</th><th>before</th><th>after</th><th>delta</th><th>maxSpend before &rarr; after</th></tr></thead><tbody id="cost-body"></tbody></table>
<h2>Changed decisions</h2>
<div class="filters"><span id="class-filters"></span>
<label><input type="checkbox" id="only-permissive"> only more permissive</label>
<label>search <input type="search" id="search" placeholder="request, lane, reason"></label>
<span id="shown" class="meta"></span></div>
<table><thead><tr><th>request</th><th>before</th><th>after</th><th>changes</th><th>evaluated at</th></tr></thead><tbody id="changes-body"></tbody></table>
<div id="skipped"></div>
<script type="application/json" id="report-data">{payload}</script>
<script>{_JS}</script>
</body></html>
"""
