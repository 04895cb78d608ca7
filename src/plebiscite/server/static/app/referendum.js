// Referendum page: check the latest checkpoint's signature with the board's key, and the
// booth files this server serves against the digests published on the board.

import { checkpointProblem, sha256Hex, verifyCheckpoint } from '/static/js/booth.js';
import { $, $$, t } from './common.js';

function checkCheckpoint() {
  const dl = $('#checkpoint');
  if (!dl) return;
  const out = $('#checkpoint-check');
  let cp;
  try {
    cp = JSON.parse(dl.dataset.checkpoint);
  } catch {
    cp = null;
  }
  const ok = cp !== null && checkpointProblem(cp) === null && verifyCheckpoint(cp, dl.dataset.boardKey);
  out.textContent = ok ? t('check.signature_ok') : t('check.signature_bad');
  out.className = ok ? 'check ok' : 'check bad';
}

async function checkBoothFiles() {
  for (const row of $$('#booth-files tbody tr')) {
    const published = row.dataset.published;
    const cell = row.querySelector('.served-check');
    if (!published) continue;
    try {
      const res = await fetch(`/static/js/${row.dataset.file}`, { cache: 'no-store', credentials: 'omit' });
      const got = sha256Hex(new Uint8Array(await res.arrayBuffer()));
      cell.textContent = got === published ? t('ref.served_matches_checked') : t('ref.served_differs_checked', { digest: got.slice(0, 16) });
      cell.className = got === published ? 'served-check ok' : 'served-check bad';
    } catch {
      // keep the server's statement
    }
  }
}

checkCheckpoint();
checkBoothFiles().finally(() => {
  document.body.dataset.ready = 'yes';
});
