// discord-file-splitter web page: live updates over Server-Sent Events, Cancel / Resume without
// a reload, the part map and the throughput chart. Served from the bot (no CDN, no inline
// script: the page's CSP allows only this file). Every value is set as text, never as HTML.
'use strict';

(() => {
  const MIB = 1024 * 1024;
  const page = document.body.dataset.page;
  const csrf = document.querySelector('meta[name="dfs-csrf"]')?.getAttribute('content') ?? '';
  const notice = document.getElementById('notice');

  function say(message) {
    if (!notice) return;
    notice.textContent = message;
    notice.hidden = !message;
  }

  const mib = (bytes) => (bytes === null ? '?' : (bytes / MIB).toFixed(1));
  function duration(seconds) {
    if (seconds === null) return '—';
    const h = Math.floor(seconds / 3600);
    const m = Math.floor((seconds % 3600) / 60);
    const s = seconds % 60;
    return h > 0 ? `${h}h ${m}m` : m > 0 ? `${m}m ${s}s` : `${s}s`;
  }

  function el(tag, attrs = {}, children = []) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attrs)) {
      if (value === false || value === null || value === undefined) continue;
      if (name === 'text') node.textContent = value;
      else node.setAttribute(name, value === true ? '' : String(value));
    }
    for (const child of children) node.append(child);
    return node;
  }

  /** A transfer's card, built as the server builds it (src/web/pages.ts). */
  function card(t) {
    const figure = (label, field) => el('div', {}, [el('dt', { text: label }), el('dd', { 'data-field': field })]);
    const form = (action, children) =>
      el('form', { method: 'post', action: `/transfers/${encodeURIComponent(t.id)}/${action}`, 'data-action': action }, [
        el('input', { type: 'hidden', name: 'csrf', value: csrf }),
        ...children,
      ]);
    const node = el('article', { class: 'transfer', 'data-id': t.id }, [
      el('h2', {}, [el('a', { href: `/transfers/${encodeURIComponent(t.id)}`, 'data-field': 'name' })]),
      el('p', { class: 'meta' }, [el('code', { text: t.id }), ' · ', el('span', { class: 'status', 'data-field': 'status' })]),
      el('progress', { max: 100, 'data-field': 'bar', 'aria-label': 'progress' }),
      el('dl', { class: 'figures' }, [
        figure('done', 'percent'),
        figure('parts', 'parts'),
        figure('MiB', 'bytes'),
        figure('speed', 'speed'),
        figure('ETA', 'eta'),
        figure('retries', 'retries'),
      ]),
      el('p', { class: 'note', 'data-field': 'note', hidden: true }),
      el('div', { class: 'actions' }, [
        form('cancel', [
          el('label', {}, [el('input', { type: 'checkbox', name: 'delete_posted', value: 'true' }), ' also delete posted parts']),
          el('button', { type: 'submit', 'data-field': 'cancel', text: 'Cancel' }),
        ]),
        form('resume', [el('button', { type: 'submit', 'data-field': 'resume', text: 'Resume' })]),
        form('share', [el('button', { type: 'submit', 'data-field': 'share', text: 'Download link' })]),
        el('a', { class: 'download', 'data-field': 'download', hidden: true }),
        el('span', { class: 'links', 'data-field': 'links' }),
      ]),
    ]);
    update(node, t);
    return node;
  }

  /** Puts a transfer's figures into its card. */
  function update(node, t) {
    const field = (name) => node.querySelector(`[data-field="${name}"]`);
    node.dataset.status = t.status;
    const set = (name, value) => {
      const f = field(name);
      if (f && f.textContent !== value) f.textContent = value;
    };
    set('name', t.fileName);
    // As the server renders it (src/web/pages.ts, statusText): the status stays in_progress.
    set('status', t.waitingForSender ? `${t.status} · waiting for the sender` : t.status);
    const bar = field('bar');
    if (bar) bar.value = t.percent;
    set('percent', `${t.percent.toFixed(1)}%`);
    set('parts', `${t.partsDone}/${t.totalParts ?? '?'}`);
    set('bytes', `${mib(t.bytesDone)}/${mib(t.fileSize)}`);
    set('speed', t.bytesPerSecond === null ? '—' : `${(t.bytesPerSecond / MIB).toFixed(2)} MiB/s`);
    set('eta', duration(t.etaSeconds));
    set('retries', String(t.retries));
    const note = field('note');
    if (note) {
      note.hidden = !t.lastNote;
      if (note.textContent !== (t.lastNote ?? '')) note.textContent = t.lastNote ?? '';
    }
    const cancel = field('cancel');
    if (cancel && !cancel.dataset.busy) cancel.disabled = !t.canCancel;
    const resume = field('resume');
    if (resume && !resume.dataset.busy) resume.disabled = !t.canResume;
    const share = node.querySelector('form[data-action="share"]');
    if (share) share.hidden = !t.canShare;
    const links = field('links');
    if (links && !links.dataset.filled && (t.progressUrl || t.manifestUrl || t.threadUrls.length > 0)) {
      // The labels are the server's (src/web/pages.ts).
      const thread = (url, i) =>
        el('a', {
          href: url,
          'data-field': 'thread-link',
          text: t.threadUrls.length === 1 ? 'parts thread' : `parts thread ${i + 1}/${t.threadUrls.length}`,
        });
      links.replaceChildren(
        ...[
          t.progressUrl ? el('a', { href: t.progressUrl, 'data-field': 'progress-link', text: 'progress message' }) : null,
          t.manifestUrl ? el('a', { href: t.manifestUrl, 'data-field': 'manifest-link', text: 'manifest message' }) : null,
          ...t.threadUrls.map(thread),
        ].filter(Boolean),
      );
      if (t.manifestUrl) links.dataset.filled = 'yes';
    }
  }

  function showList(transfers) {
    const section = document.getElementById('transfers');
    if (!section) return;
    const existing = new Map([...section.querySelectorAll('article.transfer')].map((n) => [n.dataset.id, n]));
    const order = transfers.map((t) => {
      const node = existing.get(t.id) ?? card(t);
      update(node, t);
      existing.delete(t.id);
      return node;
    });
    for (const gone of existing.values()) gone.remove();
    order.forEach((node, i) => {
      if (section.children[i] !== node) section.insertBefore(node, section.children[i] ?? null);
    });
    const empty = document.getElementById('empty');
    if (empty) empty.hidden = transfers.length > 0;
  }

  // ── The part map: one cell per part, on a canvas so that 5,000 parts draw at once ────────
  let cellsShown = '';
  let cellSize = 8;
  let columns = 1;
  function colors() {
    const css = getComputedStyle(document.documentElement);
    const v = (name) => css.getPropertyValue(name).trim();
    return { todo: v('--todo'), sending: v('--sending'), ok: v('--ok'), warn: v('--warn'), bad: v('--bad') };
  }
  function drawMap(parts) {
    const canvas = document.getElementById('part-map');
    if (!canvas) return;
    // Drawn at the size it is shown (device pixels), so cells stay crisp on a phone.
    const width = Math.max(100, Math.round(canvas.clientWidth * (window.devicePixelRatio || 1)));
    if (parts === cellsShown && width === canvas.width) return;
    cellsShown = parts;
    canvas.width = width;
    const n = Math.max(1, parts.length);
    const ratio = window.devicePixelRatio || 1;
    cellSize = Math.max(Math.round(3 * ratio), Math.min(Math.round(28 * ratio), Math.floor(Math.sqrt((width * 200 * ratio) / n))));
    columns = Math.max(1, Math.floor(width / cellSize));
    canvas.dataset.cell = String(cellSize);
    canvas.dataset.columns = String(columns);
    canvas.height = Math.ceil(n / columns) * cellSize;
    const ctx = canvas.getContext('2d');
    const c = colors();
    ctx.clearRect(0, 0, canvas.width, canvas.height);
    for (let i = 0; i < parts.length; i++) {
      const ch = parts[i];
      ctx.fillStyle = ch === '.' ? c.todo : ch === '>' ? c.sending : ch === '1' ? c.ok : Number(ch) >= 4 ? c.bad : c.warn;
      ctx.fillRect((i % columns) * cellSize, Math.floor(i / columns) * cellSize, cellSize - 1, cellSize - 1);
    }
    const summary = document.querySelector('[data-field="map-summary"]');
    const posted = parts.replace(/[.>]/g, '').length;
    if (summary) summary.textContent = `${posted} of ${parts.length} posted`;
  }
  function describePart(event) {
    const canvas = event.currentTarget;
    const box = canvas.getBoundingClientRect();
    const scale = canvas.width / box.width;
    const col = Math.floor(((event.clientX - box.left) * scale) / cellSize);
    const row = Math.floor(((event.clientY - box.top) * scale) / cellSize);
    const index = row * columns + col;
    const info = document.getElementById('part-info');
    if (!info || col >= columns || index < 0 || index >= cellsShown.length) return;
    const ch = cellsShown[index];
    const state =
      ch === '.' ? 'not yet posted' : ch === '>' ? 'on its way' : ch === '1' ? 'posted' : `posted after ${ch === '9' ? '9 or more' : ch} attempts`;
    info.textContent = `part ${index + 1}: ${state}`;
  }

  // ── Throughput over the transfer's life, from the server's samples ──────────────────────
  function drawChart(samples) {
    const svg = document.getElementById('throughput');
    if (!svg) return;
    const ns = 'http://www.w3.org/2000/svg';
    // Each interval between two samples at its average rate: a step line, which also reads right with two samples.
    const steps = [];
    for (let i = 1; i < samples.length; i++) {
      const [t0, b0] = samples[i - 1];
      const [t1, b1] = samples[i];
      if (t1 > t0) steps.push([t0, t1, Math.max(0, (b1 - b0) / ((t1 - t0) / 1000) / MIB)]);
    }
    const make = (tag, attrs, text) => {
      const node = document.createElementNS(ns, tag);
      for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, String(v));
      if (text !== undefined) node.textContent = text;
      return node;
    };
    // The drawing's units are the page's pixels, so its text reads the same on a phone.
    const W = Math.max(280, Math.round(svg.clientWidth || 600));
    const H = 160;
    svg.setAttribute('viewBox', `0 0 ${W} ${H}`);
    const left = 56;
    const children = [make('line', { class: 'axis', x1: left, y1: H - 20, x2: W, y2: H - 20 })];
    if (steps.length === 0) {
      children.push(make('text', { x: left, y: H / 2 }, 'No samples yet: one is taken every second while it runs.'));
    } else {
      const start = steps[0][0];
      const span = Math.max(1, steps.at(-1)[1] - start);
      const top = Math.max(...steps.map((p) => p[2]), 0.1);
      const x = (t) => left + ((t - start) / span) * (W - left - 4);
      const y = (v) => H - 20 - (v / top) * (H - 48);
      const points = steps.flatMap(([t0, t1, v]) => [`${x(t0).toFixed(1)},${y(v).toFixed(1)}`, `${x(t1).toFixed(1)},${y(v).toFixed(1)}`]);
      children.push(make('polyline', { class: 'line', points: points.join(' ') }));
      children.push(make('text', { x: 0, y: 15 }, `${top.toFixed(1)} MiB/s`));
      children.push(make('text', { x: 0, y: H - 22 }, '0'));
      children.push(make('text', { x: W - 4, y: H - 4, 'text-anchor': 'end' }, span < 1000 ? '<1s' : duration(Math.round(span / 1000))));
    }
    svg.replaceChildren(...children);
  }

  // ── Live updates, and what to say when they stop ────────────────────────────────────────
  function listen(url, onData) {
    const source = new EventSource(url);
    source.onmessage = (event) => {
      say('');
      onData(JSON.parse(event.data));
    };
    source.addEventListener('ended', () => {
      source.close();
      say('Your session has ended. Run /dashboard in Discord for a new sign-in link.');
    });
    source.addEventListener('crowded', () => {
      source.close();
      say('Live updates stopped here: the bot serves as many live pages as it can, and you have the most open. Close some, then reload this one.');
    });
    source.addEventListener('gone', () => {
      source.close();
      say('This transfer is no longer in the bot’s records.');
    });
    source.onerror = () => {
      if (source.readyState === EventSource.CLOSED) {
        // Refused (401): the bot restarted and forgot the session, or it expired.
        fetch('/session', { headers: { accept: 'application/json' } }).then(
          (res) =>
            say(
              res.ok
                ? 'Live updates stopped; reload the page (with many pages of it open, close some first).'
                : 'Your session has ended (the bot may have restarted). Run /dashboard in Discord for a new sign-in link.',
            ),
          () => say('The bot is not answering (it may be restarting).'),
        );
      } else {
        say('Lost contact with the bot (it may be restarting); trying again…');
      }
    };
  }

  // Cancel / Resume without leaving the page; the forms still work without this script.
  document.addEventListener('submit', (event) => {
    const form = event.target;
    if (!(form instanceof HTMLFormElement) || !form.dataset.action) return;
    event.preventDefault();
    const button = form.querySelector('button');
    if (button) {
      button.disabled = true;
      button.dataset.busy = 'yes';
    }
    fetch(form.action, { method: 'POST', headers: { accept: 'application/json' }, body: new URLSearchParams(new FormData(form)) })
      .then(async (res) => {
        const body = await res.json().catch(() => ({}));
        say(body.message ?? body.error ?? (res.ok ? '' : `The bot answered ${res.status}.`));
        // A download link: shown in its card, to open or copy.
        const link = form.closest('article')?.querySelector('[data-field="download"]');
        if (body.url && link) {
          link.href = body.url;
          link.textContent = body.url;
          link.hidden = false;
        }
      })
      .catch(() => say('The bot is not answering (it may be restarting).'))
      .finally(() => {
        if (button) delete button.dataset.busy;
      });
  });

  if (page === 'list') listen('/events', (data) => showList(data.transfers));
  if (page === 'detail') {
    const id = document.body.dataset.id;
    const node = document.querySelector('article.transfer');
    const canvas = document.getElementById('part-map');
    if (canvas) {
      drawMap(canvas.dataset.parts ?? '');
      window.addEventListener('resize', () => drawMap(cellsShown));
      canvas.addEventListener('mousemove', describePart);
      canvas.addEventListener('click', describePart);
    }
    listen(`/transfers/${encodeURIComponent(id)}/events`, (t) => {
      if (node) update(node, t);
      drawMap(t.parts);
      drawChart(t.samples);
    });
  }
})();
