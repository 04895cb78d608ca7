// Board explorer: check each listed checkpoint's signature with the board's key and its
// consistency with the newest one (the board only ever grew).

import { checkpointProblem, verifyCheckpoint, verifyConsistency } from '/static/js/booth.js';
import { $, $$, api, t } from './common.js';

const rid = document.body.dataset.rid;

async function checkAll() {
  const table = $('#checkpoints');
  if (!table) return;
  const key = table.dataset.boardKey;
  const rows = $$('tbody tr', table);
  if (!rows.length) return;
  const cps = rows.map((r) => JSON.parse(r.dataset.checkpoint));
  const newest = cps[0];
  let good = 0;
  for (let i = 0; i < rows.length; i++) {
    const cp = cps[i];
    const cell = rows[i].querySelector('.cp-check');
    let ok = checkpointProblem(cp) === null && verifyCheckpoint(cp, key);
    let why = ok ? '' : t('check.signature_bad');
    if (ok && cp.size < newest.size) {
      try {
        const proof = (await api(`/api/referendums/${encodeURIComponent(rid)}/proof/consistency?old=${cp.size}&new=${newest.size}`)).proof;
        ok = verifyConsistency(cp.size, cp.root, newest.size, newest.root, proof);
        if (!ok) why = t('check.consistency_bad');
      } catch {
        ok = false;
        why = t('check.consistency_bad');
      }
    }
    cell.textContent = ok ? t('board.cp_ok') : why;
    cell.className = ok ? 'cp-check ok' : 'cp-check bad';
    if (ok) good += 1;
  }
  $('#checkpoints-summary').textContent = good === rows.length ? t('board.cp_all_ok', { n: good }) : t('board.cp_some_bad', { bad: rows.length - good, n: rows.length });
}

checkAll().finally(() => {
  document.body.dataset.ready = 'yes';
});
