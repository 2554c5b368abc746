// The send page (README, 'Sending from your own computer'): picks a file and uploads it with
// tus-js-client (/static/tus.min.js) to /files/, with the grant from the address's fragment
// as a bearer token. tus-js-client keeps each upload's URL in localStorage under the file's
// fingerprint, so choosing the same file after a reload or a browser restart continues it.
/* global tus */
'use strict';

(function () {
  const $ = (id) => document.getElementById(id);
  const field = (name) => document.querySelector(`[data-field="${name}"]`);
  const grant = new URLSearchParams(location.hash.slice(1)).get('grant');
  const MIB = 1024 * 1024;
  let upload = null;
  let statusTimer = null;

  function show(text) {
    $('send-target').textContent = text;
  }

  if (!grant || typeof tus === 'undefined' || !tus.isSupported) {
    show(grant ? 'This browser cannot upload files this way.' : 'Open the upload link that /send gave you in Discord.');
    return;
  }
  // The grant stays in this page's memory; the address bar keeps it for a reload.
  show('Choose the file to send.');
  $('send').hidden = false;

  const headers = { Authorization: `Bearer ${grant}` };

  function format(seconds) {
    if (!isFinite(seconds) || seconds < 0) return '—';
    const s = Math.round(seconds);
    return s < 90 ? `${s} s` : s < 5400 ? `${Math.round(s / 60)} min` : `${(s / 3600).toFixed(1)} h`;
  }

  function watchStatus(url) {
    const id = url.split('/').filter(Boolean).pop();
    clearInterval(statusTimer);
    const poll = async () => {
      try {
        const res = await fetch(`/send/status/${encodeURIComponent(id)}`, { headers });
        if (!res.ok) return;
        const s = await res.json();
        field('parts').textContent = `${s.parts_done} of ${s.total_parts ?? '?'}`;
        let state = s.status === 'in_progress' ? (s.waiting_for_sender ? 'waiting for the sender' : 'posting') : s.status;
        if (s.status === 'complete') state = `complete · sha256 ${s.file_sha256}`;
        if (s.status === 'cancelled' || s.status === 'error') state = `${s.status}${s.note ? `: ${s.note}` : ''}`;
        field('state').textContent = state;
        document.body.dataset.transferStatus = s.status;
        if (s.status === 'complete' || s.status === 'cancelled' || s.status === 'error') {
          clearInterval(statusTimer);
          if (s.status !== 'complete' && upload) upload.abort(false);
          $('pause').hidden = true;
          $('resume').hidden = true;
          $('cancel').hidden = true;
        }
      } catch {
        // Offline for a moment: the next poll tells.
      }
    };
    void poll();
    statusTimer = setInterval(poll, 2000);
  }

  function start(file) {
    $('upload').hidden = false;
    field('name').textContent = file.name;
    let last = { at: performance.now(), bytes: 0 };
    let speed = 0;
    upload = new tus.Upload(file, {
      endpoint: '/files/',
      headers,
      metadata: { filename: file.name, filetype: file.type || 'application/octet-stream' },
      retryDelays: [0, 1000, 2000, 4000, 8000, 15000, 30000, 30000, 60000, 60000],
      removeFingerprintOnSuccess: true,
      onError(error) {
        const body = error.originalResponse ? error.originalResponse.getBody() : '';
        field('state').textContent = `upload stopped: ${String(body || error.message).trim()}`;
        document.body.dataset.uploadError = 'true';
      },
      onProgress(sent, total) {
        const now = performance.now();
        if (now - last.at >= 1000) {
          speed = ((sent - last.bytes) / (now - last.at)) * 1000;
          last = { at: now, bytes: sent };
        }
        const percent = total > 0 ? (sent / total) * 100 : 0;
        $('upload-bar').value = percent;
        field('percent').textContent = `${percent.toFixed(1)} %`;
        field('speed').textContent = speed > 0 ? `${(speed / MIB).toFixed(1)} MiB/s` : '—';
        field('eta').textContent = speed > 0 ? format((total - sent) / speed) : '—';
      },
      onUploadUrlAvailable() {
        watchStatus(upload.url);
      },
      onSuccess() {
        field('percent').textContent = '100 %';
        document.body.dataset.uploaded = 'true';
      },
    });
    upload.findPreviousUploads().then((previous) => {
      if (previous.length > 0) upload.resumeFromPreviousUpload(previous[0]);
      upload.start();
    });
  }

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
    void upload.abort(false);
    $('pause').hidden = true;
    $('resume').hidden = false;
    field('state').textContent = 'paused';
  });
  $('resume').addEventListener('click', () => {
    if (!upload) return;
    upload.start();
    $('pause').hidden = false;
    $('resume').hidden = true;
  });
  $('cancel').addEventListener('click', () => {
    if (!upload) return;
    // Termination: DELETE /files/<id> cancels the transfer.
    void upload.abort(true).then(() => {
      field('state').textContent = 'cancelled';
    });
  });
})();
