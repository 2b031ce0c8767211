"""The small web page served at ``/``: paste a text, see its matches side by side.

Self-contained (inline CSS and JS, no CDN); talks to ``POST /query`` and
``GET /documents/{id}``.  Served with a Content-Security-Policy that allows its
one ``<script>`` and one ``<style>`` by hash (``security.csp_for_html``), so no
``style=`` attributes or inline event handlers here: styles go in the
``<style>`` block, and handlers are set from the script.
"""

PAGE = r"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>copytrace — has this text been published before?</title>
<style>
body{font-family:system-ui,sans-serif;margin:1.5em;max-width:1400px;color:#222}
textarea{width:100%;height:10em;font-family:inherit}
.row{display:flex;gap:1em}.col{flex:1;min-width:0}
.text{white-space:pre-wrap;border:1px solid #ccc;padding:.6em;max-height:60vh;overflow:auto;font-size:.92em}
mark{background:#ffe08a}mark.reworded{background:#bfe3ff}
table{border-collapse:collapse}td,th{padding:.2em .6em;border-bottom:1px solid #eee;text-align:left}
tr.m{cursor:pointer}tr.m:hover,tr.sel{background:#f3f3f3}.err{color:#b00}small{color:#666}
#th{width:8em}#lim{width:5em}#side{display:none}
</style></head><body>
<h1>copytrace</h1>
<p>Paste a text: the indexed documents it copies, or that copy it, with the shared passages
(<mark>verbatim</mark>, <mark class="reworded">reworded</mark>).</p>
<textarea id="q" placeholder="Paste a text here"></textarea>
<p>Threshold <input id="th" type="number" min="0.01" max="1" step="0.05" placeholder="index default">
Limit <input id="lim" type="number" min="1" max="1000" value="10">
<button id="go">Search</button> <span id="status"></span></p>
<table id="res"></table>
<div class="row" id="side">
 <div class="col"><h3>Your text</h3><div class="text" id="ta"></div></div>
 <div class="col"><h3 id="hb">Document</h3><div class="text" id="tb"></div></div>
</div>
<script>
const $ = id => document.getElementById(id);
function esc(s){return s.replace(/[&<>"]/g, c => ({'&':'&amp;','<':'&lt;','>':'&gt;','"':'&quot;'}[c]));}
function marked(text, spans){
  spans = spans.slice().sort((x, y) => x[0] - y[0]);
  let out = '', pos = 0;
  for (const [s, e, kind] of spans){
    if (s < pos) continue;
    out += esc(text.slice(pos, s)) + '<mark class="' + kind + '">' + esc(text.slice(s, e)) + '</mark>';
    pos = e;
  }
  return out + esc(text.slice(pos));
}
let lastText = '';
async function search(){
  const text = $('q').value; lastText = text;
  $('status').textContent = 'searching…'; $('status').className = '';
  const body = {text: text, limit: parseInt($('lim').value || '10')};
  if ($('th').value) body.threshold = parseFloat($('th').value);
  try {
    const r = await fetch('query', {method: 'POST', headers: {'Content-Type': 'application/json'}, body: JSON.stringify(body)});
    const j = await r.json();
    if (!r.ok){ throw new Error(typeof j.detail === 'string' ? j.detail : JSON.stringify(j.detail)); }
    show(j.matches);
  } catch (e){ $('status').textContent = 'error: ' + e.message; $('status').className = 'err'; }
}
function show(matches){
  $('status').textContent = matches.length ? matches.length + ' match(es) — click one' : 'no match';
  $('side').style.display = 'none';
  const t = $('res'); t.innerHTML = '';
  if (!matches.length) return;
  t.innerHTML = '<tr><th>document</th><th>similarity</th><th>jaccard</th><th>your text in it</th><th>it in your text</th><th>passages</th><th>source</th><th>date</th></tr>';
  for (const m of matches){
    const tr = document.createElement('tr'); tr.className = 'm';
    tr.innerHTML = '<td>' + esc(m.doc_id) + '</td><td>' + m.similarity.toFixed(3) + '</td><td>' + m.jaccard.toFixed(3) +
      '</td><td>' + m.containment_query_in_doc.toFixed(3) + '</td><td>' + m.containment_doc_in_query.toFixed(3) +
      '</td><td>' + m.passages.length + '</td><td>' + esc(m.source || '') + '</td><td>' + esc(m.date || '') + '</td>';
    tr.onclick = () => { for (const x of t.querySelectorAll('tr')) x.classList.remove('sel'); tr.classList.add('sel'); side(m); };
    t.appendChild(tr);
  }
}
async function side(m){
  const r = await fetch('documents/' + m.doc_id.split('/').map(encodeURIComponent).join('/'));
  const d = await r.json();
  if (!r.ok){ $('status').textContent = 'error: ' + d.detail; return; }
  $('hb').textContent = m.doc_id + (m.source ? ' — ' + m.source : '');
  $('ta').innerHTML = marked(lastText, m.passages.map(p => [p.a_start, p.a_end, p.kind]));
  $('tb').innerHTML = marked(d.text, m.passages.map(p => [p.b_start, p.b_end, p.kind]));
  $('side').style.display = 'flex';
}
$('go').onclick = search;
</script>
<p><small>API documentation: <a href="docs">/docs</a></small></p>
</body></html>
"""
