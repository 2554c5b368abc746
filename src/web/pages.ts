/**
 * The web page's HTML, rendered on the server. Every value from a transfer (file names,
 * notes) goes through `text()`: it is shown as text, never read as HTML. No inline script
 * or style (the CSP forbids both): behaviour is public/dashboard.js, looks public/dashboard.css,
 * which read the same structure (the `data-` attributes) to update it live.
 */
import type { Session } from './auth.js';
import type { TransferDetail, TransferView } from './view.js';

const MIB = 1024 * 1024;

/** `value` as HTML text: the five characters that could start markup are escaped. */
function text(value: string | number): string {
  return String(value).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** A plain form (the script leaves it alone): the session ends on the server and the cookie goes. */
function signOutForm(session: Session): string {
  return `<form method="post" action="/signout" class="sign-out"><input type="hidden" name="csrf" value="${text(session.csrf)}"><button type="submit">Sign out</button></form>`;
}

function layout(title: string, body: string, session: Session | null, page: string, scripts: readonly string[] = ['dashboard.js']): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light dark">
${session ? `<meta name="dfs-csrf" content="${text(session.csrf)}">` : ''}
<title>${text(title)} · discord-file-splitter</title>
<link rel="stylesheet" href="/static/dashboard.css">
${scripts.map((file) => `<script src="/static/${file}" defer></script>`).join('\n')}
</head>
<body data-page="${text(page)}">
<header><a class="home" href="/">discord-file-splitter</a>${session ? signOutForm(session) : ''}</header>
<p id="notice" class="notice" role="status" hidden></p>
<main>
${body}
</main>
</body>
</html>
`;
}

/** A message meant for Discord as HTML: escaped, and its `code` spans (Discord markdown) as <code>. */
function discordText(value: string): string {
  return text(value).replace(/`([^`]+)`/g, '<code>$1</code>');
}

/** A page that says what went wrong and what to do, for 401 / 403 / 404. */
export function messagePage(title: string, message: string): string {
  return layout(title, `<h1>${text(title)}</h1>\n<p>${text(message)}</p>`, null, 'message');
}

function mib(bytes: number | null): string {
  return bytes === null ? '?' : (bytes / MIB).toFixed(1);
}

function duration(seconds: number | null): string {
  if (seconds === null) return '—';
  const h = Math.floor(seconds / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  const s = seconds % 60;
  return h > 0 ? `${h}h ${m}m` : m > 0 ? `${m}m ${s}s` : `${s}s`;
}

/** The figures of a transfer, each in an element the script finds by `data-field`. */
function figures(t: TransferView): string {
  const speed = t.bytesPerSecond === null ? '—' : `${(t.bytesPerSecond / MIB).toFixed(2)} MiB/s`;
  return `<progress max="100" value="${t.percent}" data-field="bar" aria-label="progress"></progress>
<dl class="figures">
<div><dt>done</dt><dd data-field="percent">${t.percent.toFixed(1)}%</dd></div>
<div><dt>parts</dt><dd data-field="parts">${t.partsDone}/${t.totalParts ?? '?'}</dd></div>
<div><dt>MiB</dt><dd data-field="bytes">${mib(t.bytesDone)}/${mib(t.fileSize)}</dd></div>
<div><dt>speed</dt><dd data-field="speed">${speed}</dd></div>
<div><dt>ETA</dt><dd data-field="eta">${duration(t.etaSeconds)}</dd></div>
<div><dt>retries</dt><dd data-field="retries">${t.retries}</dd></div>
</dl>
<p class="note" data-field="note"${t.lastNote ? '' : ' hidden'}>${text(t.lastNote ?? '')}</p>`;
}

/** A link to a thread of the transfer's parts; with lanes, which one of how many (public/dashboard.js says the same). */
function threadLabel(index: number, count: number): string {
  return count === 1 ? 'parts thread' : `parts thread ${index + 1}/${count}`;
}

/** Cancel and Resume, as forms (they work without the script too), disabled where not allowed. */
function actions(t: TransferView, session: Session): string {
  const csrf = `<input type="hidden" name="csrf" value="${text(session.csrf)}">`;
  const links = [
    t.progressUrl ? `<a data-field="progress-link" href="${text(t.progressUrl)}">progress message</a>` : '',
    t.manifestUrl ? `<a data-field="manifest-link" href="${text(t.manifestUrl)}">manifest message</a>` : '',
    ...t.threadUrls.map((url, i, all) => `<a data-field="thread-link" href="${text(url)}">${threadLabel(i, all.length)}</a>`),
  ].join(' ');
  return `<div class="actions">
<form method="post" action="/transfers/${text(t.id)}/cancel" data-action="cancel">${csrf}
<label><input type="checkbox" name="delete_posted" value="true"> also delete posted parts</label>
<button type="submit" data-field="cancel"${t.canCancel ? '' : ' disabled'}>Cancel</button></form>
<form method="post" action="/transfers/${text(t.id)}/resume" data-action="resume">${csrf}
<button type="submit" data-field="resume"${t.canResume ? '' : ' disabled'}>Resume</button></form>
<form method="post" action="/transfers/${text(t.id)}/share" data-action="share"${t.canShare ? '' : ' hidden'}>${csrf}
<button type="submit" data-field="share">Download link</button></form>
<a class="download" data-field="download" hidden></a>
<span class="links" data-field="links">${links}</span>
</div>`;
}

/** The status as the page shows it; public/dashboard.js says the same. */
function statusText(t: TransferView): string {
  return t.waitingForSender ? `${t.status} · waiting for the sender` : t.status;
}

function card(t: TransferView, session: Session): string {
  return `<article class="transfer" data-id="${text(t.id)}" data-status="${text(t.status)}">
<h2><a href="/transfers/${text(t.id)}" data-field="name">${text(t.fileName)}</a></h2>
<p class="meta"><code>${text(t.id)}</code> · <span class="status" data-field="status">${text(statusText(t))}</span></p>
${figures(t)}
${actions(t, session)}
</article>`;
}

/**
 * "Send a file" to the channel where `/dashboard` was run, for a member who may start
 * transfers there: a plain form (no script needed), answered with the send page and its grant.
 */
function sendFileForm(session: Session): string {
  if (!session.send || !session.actor.mayStart) return '';
  return `<form method="post" action="/send/grant" class="send-file" id="send-file">
<input type="hidden" name="csrf" value="${text(session.csrf)}">
<button type="submit">Send a file</button>
<span class="hint">from your computer to the channel where you ran <code>/dashboard</code>, in parts of ${mib(session.send.chunkSize)} MiB</span>
</form>`;
}

export function listPage(transfers: TransferView[], session: Session): string {
  const who = session.actor.mayActOnOthers ? 'Every transfer of this server' : 'Your transfers';
  const body = `<h1>${who}</h1>
${sendFileForm(session)}
<p id="empty"${transfers.length > 0 ? ' hidden' : ''}>No transfers yet. Start one with <code>/split</code> or <code>/upload</code> in Discord.</p>
<section id="transfers" aria-live="polite">
${transfers.map((t) => card(t, session)).join('\n')}
</section>`;
  return layout('Transfers', body, session, 'list');
}

/** One transfer's page; `refusal`: why the action just posted without the script was refused. */
export function detailPage(t: TransferDetail, session: Session, refusal?: string): string {
  const said = refusal === undefined ? '' : `<p class="notice refusal" role="alert">${discordText(refusal)}</p>\n`;
  const body = `${said}${card(t, session)}
<section class="map">
<h2>Parts</h2>
<p class="legend"><span class="cell posted"></span> posted <span class="cell flaky"></span> posted after retries <span class="cell sending"></span> on its way <span class="cell todo"></span> not yet
· <span data-field="map-summary">${t.partsDone} of ${t.totalParts ?? '?'} posted</span></p>
<canvas id="part-map" width="960" height="40" data-parts="${text(t.parts)}" aria-label="one cell per part"></canvas>
<p id="part-info" class="hint">Point at a cell to see its part.</p>
</section>
<section class="chart">
<h2>Throughput</h2>
<svg id="throughput" viewBox="0 0 600 160" role="img" aria-label="throughput over time"></svg>
</section>`;
  return layout(t.fileName, body, session, 'detail').replace('<body data-page="detail">', `<body data-page="detail" data-id="${text(t.id)}">`);
}

/**
 * The send page (README, 'Sending from your own computer'): the same for everyone, since what
 * lets it upload is the grant in the address's fragment, which public/send.js reads. The
 * upload itself is tus-js-client (served as /static/tus.min.js).
 */
export function sendPage(): string {
  const body = `<h1>Send a file</h1>
<p id="send-target" class="meta" role="status">Checking your upload link…</p>
<section id="send" hidden>
<label class="drop" id="drop" for="file">Drop a file here, or <span class="pick">choose one</span><input type="file" id="file"></label>
<p class="hint">Choosing the same file again after a reload, a lost connection or a browser restart continues where the bot has it.</p>
<section id="upload" class="transfer" hidden aria-live="polite">
<h2 data-field="name"></h2>
<progress id="upload-bar" max="100" value="0" aria-label="upload progress"></progress>
<dl class="figures">
<div><dt>sent</dt><dd data-field="percent">0 %</dd></div>
<div><dt>speed</dt><dd data-field="speed">—</dd></div>
<div><dt>ETA</dt><dd data-field="eta">—</dd></div>
<div><dt>posted</dt><dd data-field="parts">0</dd></div>
</dl>
<p class="meta">Discord: <span data-field="state">starting</span></p>
<p class="note" data-field="note" hidden></p>
<p class="actions"><button type="button" id="pause">Pause</button> <button type="button" id="resume" hidden>Resume</button> <button type="button" id="cancel">Cancel</button></p>
</section>
</section>`;
  return layout('Send a file', body, null, 'send', ['tus.min.js', 'send.js']);
}
