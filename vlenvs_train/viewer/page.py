"""The viewer page's inline CSS and JavaScript (no external assets: the page works offline from one file).

The page reads the episodes from ``<script type="application/json" id="data">`` and sets every text through
``textContent`` (model replies are shown, never interpreted as HTML).
"""

CSS = """
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.4 system-ui, sans-serif; color: #1d2330; background: #f4f5f8; }
header { display: flex; gap: 1.5em; align-items: center; padding: .6em 1em; background: #1d2330; color: #fff; }
header h1 { font-size: 1.1em; margin: 0; }
header .help { margin-left: auto; opacity: .75; }
#main { display: flex; height: calc(100vh - 3em); }
nav#episodes { width: 17em; overflow-y: auto; border-right: 1px solid #d5d8e0; background: #fff; }
nav .ep { display: block; width: 100%; text-align: left; border: 0; border-bottom: 1px solid #eee;
          background: none; padding: .45em .7em; cursor: pointer; font: inherit; }
nav .ep.current { background: #dfe8ff; }
nav .ep .mark { display: inline-block; width: 1.3em; font-weight: bold; }
nav .ep.success .mark { color: #17803d; } nav .ep.failure .mark { color: #b42318; }
#episode { flex: 1; overflow-y: auto; padding: .8em 1.2em; }
#episode h2 { margin: .1em 0 .3em; font-size: 1.15em; }
#controls { display: flex; gap: .8em; align-items: center; margin: .6em 0; }
#controls button { font: inherit; padding: .25em .8em; cursor: pointer; }
#turn-counter { font-weight: bold; min-width: 7em; text-align: center; }
#turn-strip { display: flex; flex-wrap: wrap; gap: .25em; margin-bottom: .6em; }
.turn-chip { border: 1px solid #c3c8d4; background: #fff; padding: 0 .45em; cursor: pointer; font: inherit; }
.turn-chip.invalid { border-color: #b42318; color: #b42318; }
.turn-chip.current { background: #1d2330; color: #fff; }
#turn { display: grid; grid-template-columns: auto auto minmax(0, 1fr); gap: 1em; align-items: start; }
figure { margin: 0; text-align: center; }
figure img { image-rendering: pixelated; width: 256px; height: auto; border: 1px solid #c3c8d4; background: #fff; }
.missing { width: 256px; padding: 3em 0; border: 1px dashed #c3c8d4; color: #888; }
pre { white-space: pre-wrap; word-break: break-word; background: #fff; border: 1px solid #d5d8e0;
      padding: .5em; margin: .2em 0 .6em; max-height: 18em; overflow-y: auto; }
.fields h3 { margin: .3em 0 0; font-size: .95em; }
.kv { margin: .2em 0; word-break: break-word; } .kv b { display: inline-block; min-width: 7em; }
#parse-error { color: #b42318; }
.ok { color: #17803d; font-weight: bold; } .bad { color: #b42318; font-weight: bold; }
"""

BODY = """
<header><h1 id="title"></h1><span id="stats"></span>
<label>Show <select id="filter"><option value="all">all episodes</option><option value="success">successes</option>
<option value="failure">failures</option></select></label>
<span class="help">&larr;/&rarr; turn &middot; &uarr;/&darr; episode</span></header>
<div id="main"><nav id="episodes"></nav>
<section id="episode"><h2 id="episode-title"></h2><div id="episode-meta"></div>
<details id="system-box"><summary>System prompt (the same for every turn)</summary><pre id="system"></pre></details>
<div id="controls"><button id="prev" title="previous turn (&larr;)">&#9664; turn</button><span id="turn-counter"></span>
<button id="next" title="next turn (&rarr;)">turn &#9654;</button></div>
<div id="turn-strip"></div>
<div id="turn"><figure id="frame-box"><figcaption>observation of this turn</figcaption></figure>
<figure id="next-frame-box"><figcaption>after the action</figcaption></figure>
<div class="fields"><h3>Prompt (user message)</h3><pre id="prompt"></pre><h3>Reply</h3><pre id="reply"></pre>
<div class="kv"><b>Action</b><span id="action"></span></div>
<div class="kv"><b>Parse error</b><span id="parse-error"></span></div>
<div class="kv"><b>Reward</b><span id="reward"></span></div>
<div class="kv"><b>Feedback</b><span id="feedback"></span></div>
<div class="kv"><b>Info</b><code id="info"></code></div></div></div></section></div>
"""

JS = r"""
(function () {
  const DATA = JSON.parse(document.getElementById('data').textContent);
  const eps = DATA.episodes;
  const $ = (id) => document.getElementById(id);
  let visible = [], pos = 0, turn = 0;

  function setText(id, text) { $(id).textContent = text; }

  function figure(id, url) {
    const box = $(id);
    box.querySelectorAll('img, .missing').forEach((n) => n.remove());
    let node;
    if (url) { node = document.createElement('img'); node.src = url; node.alt = id; }
    else { node = document.createElement('div'); node.className = 'missing'; node.textContent = 'no frame kept'; }
    box.insertBefore(node, box.firstChild);
  }

  function renderList() {
    const nav = $('episodes');
    nav.replaceChildren();
    visible.forEach((k, i) => {
      const e = eps[k], b = document.createElement('button');
      b.className = 'ep ' + (e.success ? 'success' : 'failure') + (i === pos ? ' current' : '');
      b.dataset.index = String(k);
      const mark = document.createElement('span');
      mark.className = 'mark'; mark.textContent = e.success ? '\u2713' : '\u2717';
      b.append(mark, e.env + ' seed ' + e.seed);
      b.addEventListener('click', () => { pos = i; turn = 0; render(); });
      nav.append(b);
    });
    if (!visible.length) { const p = document.createElement('p'); p.textContent = 'no episodes'; nav.append(p); }
  }

  function render() {
    renderList();
    const cur = nav_current();
    if (cur) cur.scrollIntoView({block: 'nearest'});
    $('episode').style.visibility = visible.length ? 'visible' : 'hidden';
    if (!visible.length) return;
    const e = eps[visible[pos]], turns = e.turns, n = turns.length;
    turn = Math.max(0, Math.min(turn, n - 1));
    setText('episode-title', e.env + ' \u00b7 seed ' + e.seed);
    const meta = $('episode-meta');
    meta.replaceChildren();
    const verdict = document.createElement('span');
    verdict.className = e.success ? 'ok' : 'bad';
    verdict.textContent = e.success ? 'success' : 'failure';
    meta.append(verdict, ' \u00b7 return ' + e.return.toFixed(3) + ' \u00b7 ' + e.length + ' turns \u00b7 ' +
                e.invalid + ' invalid \u00b7 family ' + e.family + (e.truncated ? ' \u00b7 truncated' : ''));
    setText('system', e.system || '(not recorded)');
    setText('turn-counter', n ? 'Turn ' + (turn + 1) + ' / ' + n : 'no turns');
    const strip = $('turn-strip');
    strip.replaceChildren();
    turns.forEach((t, i) => {
      const c = document.createElement('button');
      c.className = 'turn-chip' + (t.valid ? '' : ' invalid') + (i === turn ? ' current' : '');
      c.textContent = String(i + 1);
      c.addEventListener('click', () => { turn = i; render(); });
      strip.append(c);
    });
    const t = turns[turn] || {};
    const frames = e.frames || [];
    figure('frame-box', frames[turn]);
    figure('next-frame-box', frames[turn + 1]);
    setText('prompt', t.prompt || '(not recorded)');
    setText('reply', t.reply === undefined ? '' : t.reply);
    setText('action', t.valid ? t.action : t.action + ' (fallback: the reply was invalid)');
    setText('parse-error', t.parse_error || '\u2014');
    setText('reward', t.reward === undefined ? '' : Number(t.reward).toFixed(3));
    setText('feedback', t.feedback || '\u2014');
    setText('info', JSON.stringify(t.info || {}));
  }

  function nav_current() { return document.querySelector('nav .ep.current'); }

  function applyFilter() {
    const f = $('filter').value, was = visible[pos];
    visible = eps.map((e, k) => k).filter((k) => f === 'all' || (f === 'success') === eps[k].success);
    pos = Math.max(0, visible.indexOf(was));
    if (visible[pos] !== was) turn = 0;
    render();
  }

  function stepTurn(d) { turn += d; render(); }
  function stepEpisode(d) {
    if (!visible.length) return;
    pos = Math.max(0, Math.min(visible.length - 1, pos + d)); turn = 0; render();
  }

  $('prev').addEventListener('click', () => stepTurn(-1));
  $('next').addEventListener('click', () => stepTurn(1));
  $('filter').addEventListener('change', applyFilter);
  document.addEventListener('keydown', (ev) => {
    if (ev.target && ev.target.tagName === 'SELECT') return;
    const moves = {ArrowLeft: () => stepTurn(-1), ArrowRight: () => stepTurn(1),
                   ArrowUp: () => stepEpisode(-1), ArrowDown: () => stepEpisode(1)};
    if (moves[ev.key]) { ev.preventDefault(); moves[ev.key](); }
  });
  setText('title', DATA.title);
  const wins = eps.filter((e) => e.success).length;
  setText('stats', eps.length + ' episodes \u00b7 ' + wins + ' successes');
  document.title = DATA.title;
  applyFilter();
})();
"""
