// The send page (README, 'Sending from your own computer'): picks a file and uploads it with
// tus-js-client (/static/tus.min.js) to /files/, with the grant from the address's fragment
// as a bearer token. tus-js-client keeps each upload's URL in localStorage under the file's
// fingerprint, so choosing the same file after a reload or a browser restart continues it.
// Every value is set as text: a file name is whatever the sender's disk holds.
/* global tus */
'use strict';

(function () {
  const $ = (id) => document.getElementById(id);
  const field = (name) => document.querySelector(`[data-field="${name}"]`);
  const grant = new URLSearchParams(location.hash.slice(1)).get('grant');
  const MIB = 1024 * 1024;
  // Beside this page (so a page under a path prefix works), made absolute: tus-js-client keys
  // its localStorage record of an upload by it.
  const endpoint = new URL('files/', location.href).href;
  // A dropped connection is tried again by itself, waiting longer each time.
  const RETRY_DELAYS = [0, 1000, 2000, 4000, 8000, 15000, 30000, 30000, 60000, 60000, 60000, 60000];
  const ENDED = ['complete', 'cancelled', 'error'];
  let upload = null;
  let statusTimer = null;
  let paused = false;
  let stopped = false;
  /** A retry is waiting for its delay: coming back online tries at once. */
  let retrying = false;

  function show(text) {
    $('send-target').textContent = text;
  }
  function setState(text) {
    field('state').textContent = text;
  }
  function setNote(text) {
    field('note').textContent = text;
    field('note').hidden = text === '';
  }
  function buttons(state) {
    $('pause').hidden = state !== 'running';
    $('resume').hidden = state !== 'paused';
    $('cancel').hidden = state === 'ended';
  }

  if (!grant || typeof tus === 'undefined' || !tus.isSupported) {
    show(grant ? 'This browser cannot upload files this way.' : 'Open the upload link that /send (or the dashboard) gave you.');
    return;
  }
  // The grant stays in this page's memory; the address bar keeps it for a reload.
  const headers = { Authorization: `Bearer ${grant}` };

  fetch('send/target', { headers })
    .then(async (res) => {
      const target = await res.json().catch(() => ({}));
      if (!res.ok) {
        show(`${target.error || `The bot answered ${res.status}.`} ${target.hint || ''}`.trim());
        return;
      }
      const sealed = target.encrypted ? ', encrypted with age' : '';
      show(`To channel ${target.channel_id} in Discord, in parts of ${(target.chunk_size / MIB).toFixed(1)} MiB${sealed}. Choose the file to send.`);
      document.body.dataset.target = target.channel_id;
      $('send').hidden = false;
    })
    .catch(() => show('The bot is not answering (it may be restarting): reload this page in a moment.'));

  function duration(seconds) {
    if (!isFinite(seconds) || seconds < 0) return '—';
    const s = Math.round(seconds);
    return s < 90 ? `${s} s` : s < 5400 ? `${Math.round(s / 60)} min` : `${(s / 3600).toFixed(1)} h`;
  }

  function showStatus(s) {
    field('parts').textContent = `${s.parts_done} of ${s.total_parts ?? '?'}`;
    document.body.dataset.transferStatus = s.status;
    if (s.status === 'in_progress') setState(s.waiting_for_sender ? 'waiting for the sender' : 'posting parts');
    else if (s.status === 'complete') setState(`complete · sha256 ${s.file_sha256}`);
    else if (s.status === 'cancelled') setState('cancelled: the transfer was ended in Discord or on the dashboard, so the upload stopped');
    else setState(s.status);
    setNote(s.note && s.status !== 'complete' ? s.note : '');
    if (!ENDED.includes(s.status)) return;
    clearInterval(statusTimer);
    if (s.status !== 'complete' && upload && !stopped) {
      stopped = true;
      void upload.abort(false);
    }
    buttons('ended');
  }

  function watchStatus(url) {
    const id = url.split('/').filter(Boolean).pop();
    document.body.dataset.uploadId = id;
    clearInterval(statusTimer);
    const poll = () =>
      fetch(`send/status/${encodeURIComponent(id)}`, { headers })
        .then((res) => (res.ok ? res.json().then(showStatus) : undefined))
        // Offline or restarting for a moment: the next poll tells.
        .catch(() => undefined);
    void poll();
    statusTimer = setInterval(poll, 2000);
  }

  function onProgress(speedometer) {
    return (sent, total) => {
      retrying = false;
      const speed = speedometer(sent);
      const percent = total > 0 ? (sent / total) * 100 : 0;
      $('upload-bar').value = percent;
      field('percent').textContent = `${percent.toFixed(1)} %`;
      field('speed').textContent = speed > 0 ? `${(speed / MIB).toFixed(1)} MiB/s` : '—';
      field('eta').textContent = speed > 0 ? duration((total - sent) / speed) : '—';
    };
  }

  /** Bytes per second over the last few seconds of progress. */
  function speedometer() {
    let samples = [];
    return (sent) => {
      const now = performance.now();
      samples = samples.filter((s) => now - s.at < 5000 && s.bytes <= sent);
      samples.push({ at: now, bytes: sent });
      const first = samples[0];
      return now - first.at >= 500 ? ((sent - first.bytes) / (now - first.at)) * 1000 : 0;
    };
  }

  /** Which failures are tried again: the network, the bot restarting; not a refusal (4xx) that says why. */
  function shouldRetry(error) {
    const status = error.originalResponse ? error.originalResponse.getStatus() : 0;
    const again = status === 0 || status >= 500 || status === 423 || (status === 409 && !/\/resume/.test(error.originalResponse.getBody()));
    if (again) {
      retrying = true;
      setState(navigator.onLine ? 'connection lost: trying again…' : 'offline: continuing when the connection is back…');
    }
    return again;
  }

  function start(file) {
    if (upload && !stopped && document.body.dataset.uploaded !== 'true') return;
    delete document.body.dataset.uploaded;
    stopped = false;
    paused = false;
    $('upload').hidden = false;
    field('name').textContent = file.name;
    setNote('');
    upload = new tus.Upload(file, {
      endpoint,
      headers,
      metadata: { filename: file.name, filetype: file.type || 'application/octet-stream' },
      retryDelays: RETRY_DELAYS,
      onShouldRetry: shouldRetry,
      removeFingerprintOnSuccess: true,
      onError(error) {
        const body = error.originalResponse ? error.originalResponse.getBody() : '';
        setState(`upload stopped: ${String(body || error.message).trim()}`);
        document.body.dataset.uploadError = 'true';
        stopped = true;
        retrying = false;
        buttons('paused');
      },
      onProgress: onProgress(speedometer()),
      onUploadUrlAvailable() {
        watchStatus(upload.url);
      },
      onSuccess() {
        field('percent').textContent = '100 %';
        $('upload-bar').value = 100;
        document.body.dataset.uploaded = 'true';
        $('pause').hidden = true;
      },
    });
    buttons('running');
    upload.findPreviousUploads().then((previous) => {
      if (previous.length > 0) {
        upload.resumeFromPreviousUpload(previous[0]);
        setNote('Continuing this file from where the bot has it.');
      }
      upload.start();
    });
  }

  // Back online: a retry waiting out its delay goes now, and an upload that gave up starts again.
  window.addEventListener('online', () => {
    if (!upload || paused || document.body.dataset.uploaded === 'true' || ENDED.includes(document.body.dataset.transferStatus)) return;
    if (!retrying && !stopped) return;
    retrying = false;
    stopped = false;
    delete document.body.dataset.uploadError;
    buttons('running');
    void upload.abort(false).then(() => upload.start());
  });
  window.addEventListener('offline', () => {
    if (upload && !paused && document.body.dataset.uploaded !== 'true') setState('offline: continuing when the connection is back…');
  });

  $('file').addEventListener('change', (event) => {
    const file = event.target.files && event.target.files[0];
    if (file) start(file);
  });
  const drop = $('drop');
  drop.addEventListener('dragover', (event) => {
    event.preventDefault();
    drop.classList.add('over');
  });
  drop.addEventListener('dragleave', () => drop.classList.remove('over'));
  drop.addEventListener('drop', (event) => {
    event.preventDefault();
    drop.classList.remove('over');
    const file = event.dataTransfer.files[0];
    if (file) start(file);
  });
  $('pause').addEventListener('click', () => {
    if (!upload) return;
    paused = true;
    void upload.abort(false);
    buttons('paused');
    setState('paused: Resume continues where the bot has it');
  });
  $('resume').addEventListener('click', () => {
    if (!upload) return;
    paused = false;
    stopped = false;
    delete document.body.dataset.uploadError;
    buttons('running');
    setState('resuming…');
    upload.start();
  });
  $('cancel').addEventListener('click', () => {
    if (!upload) return;
    stopped = true;
    buttons('ended');
    // Termination: DELETE /files/<id> cancels the transfer in Discord too.
    upload
      .abort(true)
      .then(() => setState('cancelled: the transfer was ended and its staged bytes removed'))
      .catch(() => setState('could not cancel (the bot did not answer): use /cancel in Discord'));
  });
})();
