// Checking a receipt in the browser against the live board: the checkpoint's signature
// with the board's key, the inclusion proof under the checkpoint's root, the board's
// entry at the receipt's index, and the consistency of the latest checkpoint with the
// receipt's. The cryptography is the booth bundle's (loaded with its integrity hash).

import { checkReceipt, receiptProblem } from '/static/js/booth.js';
import { api, checkItem, t } from './common.js';

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
  return { ...result, latest };
}

/** Show a check result as a list of passed / failed checks. */
export function renderChecks(list, receipt, result) {
  list.replaceChildren();
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
  return result.problems.length === 0;
}
