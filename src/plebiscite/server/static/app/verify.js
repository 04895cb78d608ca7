// Checking a receipt in the browser against the live board: the checkpoint's signature
// with the board's key, the inclusion proof under the checkpoint's root, the board's
// entry at the receipt's index, and the consistency of the latest checkpoint with the
// receipt's. All four rest on what this board shows this browser; a board showing a
// voter a history nobody else sees would pass them. So, fifth, the receipt must agree
// with the largest checkpoint a quorum of the witnesses the referendum file declares
// cosigned: witnesses cosign only checkpoints that extend what they cosigned before, and
// a majority of a fixed set cannot be shown two histories. The cryptography is the booth
// bundle's (loaded with its integrity hash).

import {
  checkReceipt,
  declaredWitnesses,
  entryLeafHash,
  parseCosignatures,
  receiptProblem,
  verifyConsistency,
  verifyInclusion,
  witnessedCheckpoint,
} from '/static/js/booth.js';
import { ApiError, api, checkItem, el, t } from './common.js';

/** Fetch what the check needs from the board and check the receipt. */
export async function verifyReceipt(rid, receipt, boardKey) {
  if (receiptProblem(receipt) !== null) return checkReceipt(receipt, boardKey);
  const base = `/api/referendums/${encodeURIComponent(rid)}`;
  const page = await api(`${base}/entries?start=${receipt.index}&limit=1`);
  const entry = page.entries && page.entries.length ? page.entries[0] : null;
  const latest = await api(`${base}/checkpoint`);
  let consistency = [];
  const old = receipt.checkpoint.size;
  if (latest.size > old) {
    consistency = (await api(`${base}/proof/consistency?old=${old}&new=${latest.size}`)).proof;
  }
  const result = checkReceipt(receipt, boardKey, { entry, latest, consistency });
  const witnessed = await checkWitnessed(base, receipt, boardKey);
  const problems = witnessed.state === 'fail' ? [...result.problems, 'witnessed'] : result.problems;
  return { ...result, problems, latest, witnessed };
}

// cosignatures.jsonl is JSON lines, which api() would try to parse as one JSON value.
async function fetchText(path) {
  let response;
  try {
    response = await fetch(path, { credentials: 'same-origin', cache: 'no-store' });
  } catch {
    throw new ApiError(0, t('error.network'));
  }
  const text = await response.text();
  if (!response.ok) throw new ApiError(response.status, text || response.statusText);
  return text;
}

// A proof the board must be able to give: a refusal is a failed check, not an error.
async function proof(path) {
  try {
    return (await api(path)).proof;
  } catch (exc) {
    if (exc instanceof ApiError && exc.status !== 0) return null;
    throw exc;
  }
}

/**
 * The fifth check: {state: 'pass' | 'fail' | 'pending' | 'none', quorum, size, count,
 * problem}. The witnesses and the quorum come from the referendum entry (entry 0: the
 * referendum file, hashed into the election id), which must be in the receipt's tree,
 * and so in the witnessed one once the two are proven one history: the board cannot
 * show this browser a file that names witnesses of its own, or none. 'pending': no
 * witnessed checkpoint covers the ballot yet (not a failure).
 */
async function checkWitnessed(base, receipt, boardKey) {
  const first = (await api(`${base}/entries?start=0&limit=1`)).entries?.[0] ?? null;
  const manifest = first?.type === 'referendum' ? first.data?.manifest : null;
  if (!manifest || typeof manifest !== 'object') {
    return { state: 'fail', problem: 'referendum' };
  }
  if (typeof boardKey === 'string' && first.data.board_key !== boardKey) return { state: 'fail', problem: 'board_key' };
  const cp = receipt.checkpoint;
  const included = await proof(`${base}/proof/inclusion?index=0&size=${cp.size}`);
  if (included === null || !verifyInclusion(entryLeafHash(first), 0, cp.size, included, cp.root)) {
    return { state: 'fail', problem: 'referendum' };
  }
  const quorum = manifest.witness_quorum ?? 0;
  if (!Number.isSafeInteger(quorum) || quorum < 1) return { state: 'none' };
  const cosignatures = parseCosignatures(await fetchText(`${base}/record/cosignatures.jsonl`));
  const found = witnessedCheckpoint(cosignatures, declaredWitnesses(manifest), quorum, { origin: cp.origin });
  if (!found) return { state: 'pending', quorum, size: 0 };
  const w = found.checkpoint;
  const out = { quorum, size: w.size, count: found.witnesses.length, witnesses: found.witnesses };
  // The receipt's tree and the witnessed one must be one history, whichever is larger
  // (checked even while the ballot is not yet witnessed: a split shows at once). When
  // the witnessed tree is the smaller, it is a prefix of the receipt's, so it holds the
  // ballot if the ballot's index is below its size: the inclusion proof put it there.
  let ok;
  if (w.size >= cp.size) {
    const path = w.size > cp.size ? await proof(`${base}/proof/consistency?old=${cp.size}&new=${w.size}`) : [];
    ok = path !== null && verifyConsistency(cp.size, cp.root, w.size, w.root, path);
  } else {
    const path = await proof(`${base}/proof/consistency?old=${w.size}&new=${cp.size}`);
    ok = path !== null && verifyConsistency(w.size, w.root, cp.size, cp.root, path);
  }
  if (!ok) return { ...out, state: 'fail', problem: 'consistency' };
  return { ...out, state: w.size > receipt.index ? 'pass' : 'pending' };
}

function witnessItem(w) {
  if (w.state === 'none') return checkItem(null, t('check.witnessed_none'));
  if (w.state === 'pending') {
    return el(
      'li',
      { class: 'check-skip check-pending' },
      el('span', { class: 'check-mark', 'aria-hidden': 'true', text: '…' }),
      ' ',
      el('strong', { text: t('check.pending') }),
      ' ',
      t('check.witnessed_pending', { quorum: w.quorum, size: w.size }),
    );
  }
  if (w.state === 'pass') {
    return checkItem(true, t('check.witnessed', { size: w.size, count: w.count, quorum: w.quorum }));
  }
  const detail =
    w.problem === 'consistency'
      ? t('check.witnessed_inconsistent')
      : w.problem === 'board_key'
        ? t('check.witnessed_board_key')
        : t('check.witnessed_referendum');
  const label = w.size === undefined ? t('check.witnessed_failed') : t('check.witnessed_bad', { size: w.size, quorum: w.quorum });
  return checkItem(false, label, detail);
}

/** Show a check result as a list of passed / failed checks. */
export function renderChecks(list, receipt, result) {
  list.replaceChildren();
  delete list.dataset.witnessed;
  if (result.problems.includes('malformed')) {
    list.append(checkItem(false, t('check.malformed'), result.detail));
    return false;
  }
  const c = result.checks;
  list.append(
    checkItem(c.signature, t('check.signature')),
    checkItem(c.inclusion, t('check.inclusion', { size: receipt.checkpoint.size })),
    checkItem(c.entry, t('check.entry', { index: receipt.index })),
    checkItem(c.consistency, t('check.consistency', { size: result.latest ? result.latest.size : '?' })),
  );
  if (result.witnessed) {
    list.append(witnessItem(result.witnessed));
    list.dataset.witnessed = result.witnessed.state;
  }
  return result.problems.length === 0;
}

/** The closing line of the checks: the receipt holds (yet unwitnessed), or it does not. */
export function summaryItem(ok, result) {
  if (!ok) return el('li', { class: 'summary bad', text: t('receipt.not_good') });
  const pending = result?.witnessed?.state === 'pending';
  return el('li', { class: 'summary ok', text: pending ? t('receipt.all_good_pending') : t('receipt.all_good') });
}
