// Tracking page: look up a tracking code on the board, or load a receipt file, and check
// it here: the checkpoint's signature with the board's key, the inclusion proof under the
// checkpoint's root, the board's entry at that index, the latest checkpoint's
// consistency with the receipt's, and agreement with the checkpoint the referendum's
// witnesses cosigned (verify.js).

import { $, ApiError, api, el, entryName, errorText, focusOn, setDownload, t } from './common.js';
import { renderChecks, summaryItem, verifyReceipt } from './verify.js';

const rid = document.body.dataset.rid;
const base = `/api/referendums/${encodeURIComponent(rid)}`;
let boardKey = null;

async function key() {
  if (!boardKey) boardKey = (await api(base)).board_key;
  return boardKey;
}

function resultArea() {
  const section = $('#track-result');
  section.hidden = false;
  $('#track-server').replaceChildren();
  $('#track-download').hidden = true;
  return section;
}

async function check(receipt, intro) {
  const section = resultArea();
  const summary = $('#track-summary');
  const list = $('#track-checks');
  delete list.dataset.verified;
  summary.textContent = intro;
  list.replaceChildren(el('li', { text: t('receipt.checking') }));
  focusOn(section);
  try {
    const result = await verifyReceipt(rid, receipt, await key());
    const ok = renderChecks(list, receipt, result);
    list.dataset.verified = ok ? 'yes' : 'no';
    list.append(summaryItem(ok, result));
    return ok;
  } catch (exc) {
    list.replaceChildren(el('li', { class: 'check-fail', text: errorText(exc) }));
    list.dataset.verified = 'no';
    return false;
  }
}

async function lookUp(ev) {
  ev?.preventDefault();
  const input = $('#track-code');
  const code = input.value.trim().toLowerCase();
  if (!/^[0-9a-f]{64}$/.test(code)) {
    resultArea();
    $('#track-summary').textContent = t('track.code_bad');
    $('#track-checks').replaceChildren();
    input.setAttribute('aria-invalid', 'true');
    input.focus();
    return;
  }
  input.removeAttribute('aria-invalid');
  history.replaceState(null, '', `${location.pathname}?code=${code}`);
  let found;
  try {
    found = await api(`${base}/tracking/${code}`);
  } catch (exc) {
    resultArea();
    $('#track-summary').textContent = exc instanceof ApiError && exc.status === 404 ? t('track.not_found') : errorText(exc);
    $('#track-checks').replaceChildren();
    focusOn($('#track-result'));
    return;
  }
  const { superseded, ...receipt } = found;
  let intro = t('track.found_short', { index: receipt.index, kind: entryName(receipt.type) });
  if (receipt.type === 'ballot') intro += ' ' + (superseded ? t('track.superseded') : t('track.last'));
  else intro += ' ' + t('track.challenged_note');
  await check(receipt, intro);
  setDownload($('#track-download'), `receipt-${code.slice(0, 12)}.json`, JSON.stringify({ ...receipt, referendum: rid }, null, 1) + '\n');
}

async function checkFile(ev) {
  ev.preventDefault();
  const file = $('#receipt-file').files[0];
  const text = file ? await file.text() : $('#receipt-text').value;
  let receipt;
  try {
    receipt = JSON.parse(text);
  } catch {
    resultArea();
    $('#track-summary').textContent = t('track.receipt_unreadable');
    $('#track-checks').replaceChildren();
    focusOn($('#track-result'));
    return;
  }
  if (receipt && typeof receipt === 'object' && receipt.referendum && receipt.referendum !== rid) {
    resultArea();
    $('#track-summary').textContent = t('track.other_referendum', { id: String(receipt.referendum) });
    $('#track-checks').replaceChildren();
    focusOn($('#track-result'));
    return;
  }
  await check(receipt, t('track.checking_receipt', { index: receipt?.index ?? '?' }));
}

$('#track-form').addEventListener('submit', lookUp);
$('#receipt-form').addEventListener('submit', checkFile);
if ($('#track-code').value.trim()) lookUp();
document.body.dataset.ready = 'yes';
