/**
 * The status page: one HTML shell, one stylesheet, one script, served from memory so the page
 * works from a built package without asset files. No framework and no build step; the script
 * renders with textContent only (plates and details never become markup), and the server's
 * Content-Security-Policy allows nothing but these same-origin files.
 */

export const pageHtml = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>zonegate status</title>
<link rel="stylesheet" href="/app.css">
<script src="/app.js" defer></script>
</head>
<body>
<header>
  <div>
    <h1 id="gw-id" data-testid="gateway-id">zonegate</h1>
    <div id="gw-site" class="sub"></div>
  </div>
  <div class="right">
    <span id="health" class="badge" data-testid="health">…</span>
    <span id="live" class="badge off" data-testid="live">connecting</span>
    <form method="post" action="/logout"><button type="submit">log out</button></form>
  </div>
</header>
<main>
  <section class="tiles">
    <div class="tile" data-testid="list-tile"><h2>Lists</h2><div id="list" class="big">–</div><div id="list-sub" class="sub"></div></div>
    <div class="tile" data-testid="uplink-tile"><h2>Uplink</h2><div id="uplink" class="big">–</div><div id="uplink-sub" class="sub"></div></div>
    <div class="tile"><h2>Running since</h2><div id="uptime" class="big">–</div><div id="versions" class="sub" data-testid="versions"></div></div>
  </section>
  <section id="lanes" class="lanes" data-testid="lanes"></section>
  <section class="cols">
    <div><h2>Decisions</h2><table data-testid="decisions"><thead><tr><th>time</th><th>lane</th><th>plate</th><th>outcome</th><th>reason</th><th>ms</th></tr></thead><tbody id="decisions"></tbody></table></div>
    <div><h2>Reads</h2><table data-testid="reads"><thead><tr><th>time</th><th>lane</th><th>plate</th><th>conf</th></tr></thead><tbody id="reads"></tbody></table></div>
  </section>
  <section><h2>Faults</h2><table data-testid="faults"><thead><tr><th>time</th><th>origin</th><th>reason</th><th>detail</th><th>×</th></tr></thead><tbody id="faults"></tbody></table></section>
  <section><h2>Health</h2><ul id="checks" class="checks" data-testid="checks"></ul></section>
</main>
</body>
</html>
`;

export function loginHtml(message?: string): string {
  const note = message ? `<p class="error" data-testid="login-error">${escapeHtml(message)}</p>` : '';
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>zonegate status: log in</title><link rel="stylesheet" href="/app.css"></head>
<body class="login"><form method="post" action="/login">
<h1>zonegate</h1><p>Enter the status token from the site profile (<code>status.token</code>).</p>${note}
<input type="password" name="token" autocomplete="current-password" autofocus required aria-label="token">
<button type="submit">Log in</button></form></body></html>
`;
}

export function noTokenHtml(): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>zonegate status</title><link rel="stylesheet" href="/app.css"></head>
<body class="login"><div class="form"><h1>zonegate</h1>
<p>This gateway has no <code>status.token</code> configured, so its status page is served only on the gateway itself
(loopback). Set a token of at least 16 characters in the site profile (or run <code>zonegate provision</code>)
and restart the service to use the page from a laptop.</p></div></body></html>
`;
}

function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

export const pageCss = `
:root { --ok:#1a7f37; --bad:#c62828; --warn:#b26a00; --mid:#6b7280; --line:#d0d7de; --bg:#f6f8fa; }
* { box-sizing: border-box; }
body { margin:0; font:15px/1.4 system-ui, sans-serif; color:#111; background:var(--bg); }
header { display:flex; justify-content:space-between; align-items:center; padding:12px 20px; background:#0b3d91; color:#fff; }
header h1 { margin:0; font-size:22px; }
header .sub { color:#cfe0ff; }
header .right { display:flex; gap:8px; align-items:center; }
header form { margin:0; }
header button { background:transparent; color:#fff; border:1px solid #cfe0ff; border-radius:4px; padding:3px 8px; cursor:pointer; }
main { padding:16px 20px; display:flex; flex-direction:column; gap:16px; }
h2 { font-size:14px; text-transform:uppercase; letter-spacing:.04em; color:var(--mid); margin:0 0 6px; }
.sub { color:var(--mid); font-size:13px; }
.badge { display:inline-block; padding:3px 10px; border-radius:12px; font-weight:600; background:var(--ok); color:#fff; }
.badge.off, .badge.degraded { background:var(--warn); }
.badge.failing, .badge.bad { background:var(--bad); }
.tiles { display:grid; grid-template-columns:repeat(auto-fit, minmax(220px, 1fr)); gap:12px; }
.tile, .lane { background:#fff; border:1px solid var(--line); border-radius:8px; padding:12px; }
.big { font-size:22px; font-weight:600; }
.big.bad { color:var(--bad); } .big.ok { color:var(--ok); } .big.warn { color:var(--warn); }
.lanes { display:grid; grid-template-columns:repeat(auto-fit, minmax(320px, 1fr)); gap:12px; }
.lane h3 { margin:0 0 8px; font-size:18px; }
.bollard { display:flex; align-items:center; gap:12px; margin:8px 0; }
.post { width:28px; height:56px; border-radius:6px 6px 2px 2px; background:var(--mid); }
.post.up { background:var(--bad); } .post.down { background:var(--ok); height:12px; margin-top:44px; }
.post.moving { background:var(--warn); height:34px; margin-top:22px; } .post.fault { background:#6a1b9a; }
.loops { display:flex; gap:6px; }
.loop { padding:2px 8px; border-radius:10px; border:1px solid var(--line); font-size:12px; }
.loop.on { background:var(--warn); color:#fff; border-color:var(--warn); }
.frame { position:relative; display:inline-block; max-width:100%; margin-top:8px; line-height:0; }
.frame img { max-width:100%; display:block; }
.frame .box { position:absolute; border:3px solid #ff1744; box-shadow:0 0 0 1px #fff; }
.src { font-size:13px; } .src.connected { color:var(--ok); } .src.disconnected, .src.reconnecting { color:var(--bad); }
.cols { display:grid; grid-template-columns:3fr 2fr; gap:16px; }
@media (max-width: 900px) { .cols { grid-template-columns:1fr; } }
table { width:100%; border-collapse:collapse; background:#fff; border:1px solid var(--line); border-radius:8px; font-size:13px; }
th, td { text-align:left; padding:4px 8px; border-bottom:1px solid var(--line); }
th { background:#eef1f4; }
td.plate { font-family:ui-monospace, monospace; font-weight:600; font-size:14px; }
.o-open { color:var(--ok); font-weight:700; } .o-deny { color:var(--bad); font-weight:700; }
.o-record { color:var(--warn); font-weight:700; } .o-manual { color:#6a1b9a; font-weight:700; }
.checks { list-style:none; margin:0; padding:0; display:flex; flex-wrap:wrap; gap:8px; }
.checks li { background:#fff; border:1px solid var(--line); border-left:5px solid var(--ok); padding:4px 10px; border-radius:4px; font-size:13px; }
.checks li.fail { border-left-color:var(--bad); }
body.login { display:flex; justify-content:center; align-items:center; min-height:100vh; }
body.login form, body.login .form { background:#fff; border:1px solid var(--line); border-radius:8px; padding:24px; max-width:420px; display:flex; flex-direction:column; gap:10px; }
body.login input, body.login button { font-size:16px; padding:8px; }
.error { color:var(--bad); font-weight:600; }
`;

export const pageJs = `'use strict';
(function () {
  const $ = (id) => document.getElementById(id);
  let state = null;
  let skew = 0;
  const tz = 'Europe/Amsterdam';
  const timeFmt = new Intl.DateTimeFormat('nl-NL', { timeZone: tz, hour: '2-digit', minute: '2-digit', second: '2-digit' });
  const dateFmt = new Intl.DateTimeFormat('nl-NL', { timeZone: tz, dateStyle: 'short', timeStyle: 'medium' });
  const serverNow = () => Date.now() + skew;
  const el = (tag, cls, text) => {
    const e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined) e.textContent = String(text);
    return e;
  };
  const age = (s) => {
    if (s === undefined || s === null) return 'unknown';
    if (s < 90) return Math.round(s) + ' s';
    if (s < 5400) return Math.round(s / 60) + ' min';
    if (s < 172800) return (s / 3600).toFixed(1) + ' h';
    return (s / 86400).toFixed(1) + ' days';
  };
  const row = (cells) => {
    const tr = el('tr');
    for (const c of cells) {
      const td = el('td', c[1] || '', c[0]);
      tr.appendChild(td);
    }
    return tr;
  };
  const prepend = (tbody, tr, limit) => {
    tbody.insertBefore(tr, tbody.firstChild);
    while (tbody.children.length > limit) tbody.removeChild(tbody.lastChild);
  };
  const decisionRow = (d) => row([
    [timeFmt.format(d.at)], [d.lane], [d.plate + (d.corrected ? ' *' : ''), 'plate'],
    [d.outcome, 'o-' + d.outcome], [d.reason + (d.grantId ? ' (' + d.grantId + ')' : '')],
    [d.latencyMs === undefined ? '' : d.latencyMs.toFixed(2)],
  ]);
  const readRow = (r) => row([[timeFmt.format(r.at)], [r.lane], [r.plate, 'plate'], [r.confidence]]);
  const faultRow = (f) => row([[timeFmt.format(f.at)], [f.origin + (f.lane ? ' / ' + f.lane : '')], [f.reason], [f.detail], [f.count]]);

  function renderList(l) {
    const big = $('list');
    big.textContent = 'v' + l.version + ' · ' + age(l.ageSeconds);
    big.className = 'big ' + (l.stale ? 'bad' : 'ok');
    $('list-sub').textContent = (l.stale ? 'STALE (limit ' + l.maxAgeHours + ' h)' : 'fresh (limit ' + l.maxAgeHours + ' h)') +
      (l.grants !== undefined ? ' · ' + l.grants + ' grants' : '') +
      (l.publishedAt ? ' · published ' + dateFmt.format(l.publishedAt) : '');
  }
  function renderUplink(u) {
    const big = $('uplink');
    big.textContent = (u.connected ? 'connected' : 'offline') + ' · backlog ' + u.backlog;
    big.className = 'big ' + (u.connected ? (u.backlog > 1000 ? 'warn' : 'ok') : 'bad');
    const parts = [];
    if (u.broker) parts.push(u.broker);
    if (u.lastAckAt) parts.push('last ack ' + timeFmt.format(u.lastAckAt));
    if (u.oldestUnackedAt) parts.push('oldest unacked ' + age((serverNow() - u.oldestUnackedAt) / 1000));
    $('uplink-sub').textContent = parts.join(' · ');
  }
  function renderHealth(h) {
    const b = $('health');
    b.textContent = h ? h.status : 'no health';
    b.className = 'badge ' + (h ? h.status : 'off');
    const ul = $('checks');
    ul.replaceChildren();
    for (const c of (h ? h.checks : [])) {
      const li = el('li', c.ok ? 'ok' : 'fail', c.name + (c.critical ? ' (critical)' : '') + ': ' + c.detail);
      ul.appendChild(li);
    }
  }
  function laneCard(lane) {
    const card = el('div', 'lane');
    card.dataset.lane = lane.id;
    card.setAttribute('data-testid', 'lane-' + lane.id);
    card.appendChild(el('h3', '', 'Lane ' + lane.id + ' (' + lane.direction + ')'));
    if (lane.bollard) {
      const b = lane.bollard;
      const box = el('div', 'bollard');
      const pos = b.state === 'fault' ? 'fault' : b.position;
      box.appendChild(el('div', 'post ' + pos));
      const info = el('div');
      const st = el('div', 'big', b.state);
      st.setAttribute('data-testid', 'bollard-state');
      info.appendChild(st);
      info.appendChild(el('div', 'sub', 'position ' + b.position + ' · ' + b.failMode + ' · since ' + timeFmt.format(b.since) + (b.reason ? ' · ' + b.reason : '')));
      const loops = el('div', 'loops');
      b.loops.forEach((on, i) => loops.appendChild(el('span', 'loop' + (on ? ' on' : ''), 'loop ' + (i + 1) + (on ? ': vehicle' : ': clear'))));
      if (b.emergency) loops.appendChild(el('span', 'loop on', 'EMERGENCY'));
      if (b.controllerFault) loops.appendChild(el('span', 'loop on', 'controller fault'));
      info.appendChild(loops);
      box.appendChild(info);
      card.appendChild(box);
    } else {
      card.appendChild(el('div', 'sub', 'camera only (no bollard)'));
    }
    for (const s of lane.sources) {
      card.appendChild(el('div', 'src ' + s.state, s.id + ' (' + s.kind + '): ' + s.state + (s.detail ? ' — ' + s.detail : '')));
    }
    if (lane.frame) {
      const f = lane.frame;
      const wrap = el('div', 'frame');
      const img = el('img');
      img.alt = 'last frame of lane ' + lane.id;
      img.src = '/api/frame/' + encodeURIComponent(lane.id) + '?id=' + f.id;
      img.setAttribute('data-testid', 'frame');
      wrap.appendChild(img);
      if (f.box) {
        const bx = el('div', 'box');
        bx.setAttribute('data-testid', 'plate-box');
        bx.style.left = (100 * f.box.x / f.width) + '%';
        bx.style.top = (100 * f.box.y / f.height) + '%';
        bx.style.width = (100 * f.box.w / f.width) + '%';
        bx.style.height = (100 * f.box.h / f.height) + '%';
        wrap.appendChild(bx);
      }
      card.appendChild(wrap);
      card.appendChild(el('div', 'sub', 'frame ' + timeFmt.format(f.at) + (f.plate ? ' · ' + f.plate : '')));
    }
    return card;
  }
  function renderLane(lane) {
    const old = document.querySelector('[data-lane="' + CSS.escape(lane.id) + '"]');
    const card = laneCard(lane);
    // The same frame keeps its loaded <img>: a new one would reload and flicker at every change.
    const oldImg = old && old.querySelector('img');
    const newImg = card.querySelector('img');
    if (oldImg && newImg && oldImg.getAttribute('src') === newImg.getAttribute('src')) newImg.replaceWith(oldImg);
    if (old) old.replaceWith(card); else $('lanes').appendChild(card);
  }
  function renderAll(s) {
    state = s;
    skew = s.now - Date.now();
    document.title = s.gateway.id + ' · zonegate';
    $('gw-id').textContent = s.gateway.id;
    $('gw-site').textContent = s.gateway.site + ' · zone ' + s.gateway.zone + ' · municipality ' + s.gateway.municipality;
    $('uptime').textContent = dateFmt.format(s.startedAt);
    $('versions').textContent = Object.entries(s.versions).map((e) => e[0] + ' ' + e[1]).join(' · ');
    renderList(s.list);
    renderUplink(s.uplink);
    renderHealth(s.health);
    const ids = new Set(s.lanes.map((l) => l.id));
    for (const card of Array.from($('lanes').children)) if (!ids.has(card.dataset.lane)) card.remove();
    for (const lane of s.lanes) renderLane(lane);
    $('decisions').replaceChildren(...s.recent.decisions.map(decisionRow));
    $('reads').replaceChildren(...s.recent.reads.map(readRow));
    $('faults').replaceChildren(...s.recent.faults.map(faultRow));
  }
  const limit = () => (state ? Math.max(state.recent.decisions.length, 50) : 50);
  function apply(ev) {
    switch (ev.type) {
      case 'read': prepend($('reads'), readRow(ev.read), limit()); break;
      case 'decision': prepend($('decisions'), decisionRow(ev.decision), limit()); break;
      case 'fault': {
        const rows = $('faults').children;
        for (const tr of Array.from(rows)) {
          if (tr.children[1].textContent === ev.fault.origin + (ev.fault.lane ? ' / ' + ev.fault.lane : '') && tr.children[2].textContent === ev.fault.reason) tr.remove();
        }
        prepend($('faults'), faultRow(ev.fault), limit());
        break;
      }
      case 'lane': renderLane(ev.lane); break;
      case 'list': renderList(ev.list); break;
      case 'uplink': renderUplink(ev.uplink); break;
      case 'health': renderHealth(ev.health); break;
    }
  }
  function connect() {
    const es = new EventSource('/api/events');
    const live = $('live');
    es.addEventListener('snapshot', (m) => {
      renderAll(JSON.parse(m.data));
      live.textContent = 'live';
      live.className = 'badge';
      document.body.dataset.ready = '1';
    });
    es.addEventListener('change', (m) => apply(JSON.parse(m.data)));
    es.onerror = () => {
      live.textContent = 'reconnecting';
      live.className = 'badge bad';
      if (es.readyState === EventSource.CLOSED) {
        // The session ended (token changed, gateway restarted): back to the login page.
        fetch('/api/status').then((r) => { if (r.status === 401) location.href = '/login'; else setTimeout(connect, 3000); }, () => setTimeout(connect, 3000));
      }
    };
  }
  connect();
})();
`;
