// The voting booth: sign in -> credential (typed, pasted, or from a #credential=… link;
// it never leaves this browser) -> the questions of the voter's region -> the ballot is
// encrypted and proved in a Web Worker as soon as the answers are complete, and its
// tracking code shown -> Cast (signed with the credential, posted with the CSRF token)
// or Challenge (the nonces are revealed and decoded here; the challenged ballot may be
// posted anonymously, without cookies) -> the receipt, checked here against the board.
//
// Revotes are a chain: once the credential is given, the booth reads its head (the
// tracking code of its latest ballot on the board) and every ballot it builds replaces
// that head. If another ballot of the credential reached the board in between (another
// device, an earlier cast whose answer was lost), the board answers 409 "stale" with the
// new head: the booth signs the same encryption once more on it (same tracking code)
// and casts again, once.

import * as B from '/static/js/booth.js';
import { $, $$, ApiError, api, el, errorText, focusOn, say, setDownload, t } from './common.js';
import { renderChecks, summaryItem, verifyReceipt } from './verify.js';

const WORKER_URL = '/static/js/worker.js';
const root = $('#booth');

const state = {
  info: null, // GET /api/referendums/{id}
  manifest: null, // parsed (questions, regions)
  questions: [], // the voter's region's questions
  texts: {}, // question id -> text
  region: null,
  csrf: null,
  credential: null, // the secret credential: only ever given to the worker
  head: null, // the tracking code the next ballot replaces (the credential's latest)
  worker: null,
  seq: 0,
  ballot: null, // the worker's last result: committed, neither cast nor challenged yet
  challenge: null, // a challenged submission the voter may post
  timer: null,
};

const api0 = () => `/api/referendums/${encodeURIComponent(document.body.dataset.rid)}`;

// -- steps -----------------------------------------------------------------------------

const STEPS = ['signin', 'credential', 'ballot', 'challenge', 'receipt'];

function show(step) {
  for (const s of STEPS) $(`#step-${s}`).hidden = s !== step;
  const marker = step === 'challenge' ? 'ballot' : step;
  for (const li of $$('.progress-steps li')) {
    if (li.dataset.step === marker) li.setAttribute('aria-current', 'step');
    else li.removeAttribute('aria-current');
  }
  say($('#booth-error'), '');
  focusOn($(`#step-${step} h2`));
}

// -- sign in ---------------------------------------------------------------------------

async function signIn(ev) {
  ev.preventDefault();
  const input = $('#signin-code');
  const code = input.value.trim();
  const err = $('#signin-error');
  if (!code) {
    say(err, t('booth.code_missing'));
    input.setAttribute('aria-invalid', 'true');
    input.focus();
    return;
  }
  const button = $('#signin-form button[type=submit]');
  button.disabled = true;
  try {
    const r = await api(`${api0()}/signin`, { json: { code } });
    state.region = r.region;
    state.csrf = r.csrf;
    input.removeAttribute('aria-invalid');
    say(err, '');
    input.value = '';
    state.questions = B.regionQuestions(state.manifest, r.region);
    renderQuestions();
    const region = state.manifest.regions.get(r.region);
    $('#signed-in-as').textContent = t('booth.signed_in', { voter: r.voter, region: region ? region.name : r.region });
    show('credential');
    if (state.credential) $('#credential').value = state.credential;
  } catch (exc) {
    input.setAttribute('aria-invalid', 'true');
    say(err, exc instanceof ApiError && exc.status === 401 ? t('booth.code_unknown') : exc instanceof ApiError && exc.status === 429 ? t('booth.code_rate') : errorText(exc));
    input.focus();
  } finally {
    button.disabled = false;
  }
}

// -- credential ------------------------------------------------------------------------

function credentialFromLink() {
  const params = new URLSearchParams(location.hash.slice(1));
  const c = params.get('credential');
  if (c !== null) {
    // Drop it from the address bar and the history: it is a secret.
    history.replaceState(null, '', location.pathname + location.search);
    return c;
  }
  return null;
}

async function takeCredential(ev) {
  ev.preventDefault();
  const input = $('#credential');
  const value = input.value.trim();
  const err = $('#credential-error');
  if (!B.isWellFormedCredential(value)) {
    input.setAttribute('aria-invalid', 'true');
    say(err, value ? t('booth.credential_bad') : t('booth.credential_missing'));
    input.focus();
    return;
  }
  input.removeAttribute('aria-invalid');
  say(err, '');
  const button = $('#credential-form button[type=submit]');
  button.disabled = true;
  try {
    state.head = await readHead(value);
  } catch (exc) {
    say(err, errorText(exc));
    return;
  } finally {
    button.disabled = false;
  }
  state.credential = value;
  startBallot(true);
}

// The head of the credential's revote chain on the board (null before its first ballot).
async function readHead(credential) {
  const pub = B.publicCredential(state.info.election_id, credential);
  const r = await api(`${api0()}/credentials/${encodeURIComponent(pub)}/head`);
  return r.tracking_code ?? null;
}

// -- the ballot ------------------------------------------------------------------------

function hintFor(q) {
  let text;
  if (q.min === 1 && q.max === 1) text = t('booth.hint_one');
  else if (q.min === q.max) text = t('booth.hint_exactly', { n: q.max });
  else if (q.min === 0) text = t('booth.hint_up_to', { max: q.max });
  else text = t('booth.hint_between', { min: q.min, max: q.max });
  if (q.blank) text += ' ' + t('booth.hint_blank');
  return text;
}

function renderQuestions() {
  const box = $('#questions');
  box.replaceChildren();
  for (const q of state.questions) {
    const multi = !(q.min === 1 && q.max === 1);
    const type = multi ? 'checkbox' : 'radio';
    const base = `q-${q.id}`;
    const options = el('div', { class: 'options' });
    q.slots.forEach((slot, i) => {
      const id = `${base}-${i}`;
      options.append(
        el(
          'div',
          { class: slot === 'blank' ? 'option blank' : 'option' },
          el('input', { type, name: base, id, value: slot }),
          el('label', { for: id, text: slot === 'blank' ? t('booth.blank') : slot }),
        ),
      );
    });
    box.append(
      el(
        'fieldset',
        { class: 'question', id: base, 'aria-describedby': `${base}-hint ${base}-error`, dataset: { question: q.id } },
        el('legend', { text: state.texts[q.id] || q.id }),
        el('p', { class: 'hint', id: `${base}-hint`, text: hintFor(q) }),
        options,
        el('p', { class: 'error', id: `${base}-error`, hidden: true }),
      ),
    );
  }
}

function selections() {
  const out = {};
  for (const q of state.questions) {
    out[q.id] = $$(`#q-${CSS.escape(q.id)} input:checked`).map((i) => i.value);
  }
  return out;
}

function onAnswer(ev) {
  const input = ev.target;
  if (input instanceof HTMLInputElement && input.type === 'checkbox' && input.checked) {
    // Blank excludes every other answer of its question, and the reverse.
    const fs = input.closest('fieldset');
    for (const other of $$('input', fs)) {
      if (other !== input && (input.value === 'blank' || other.value === 'blank')) other.checked = false;
    }
  }
  const chosen = selections();
  for (const q of state.questions) {
    const c = chosen[q.id];
    const err = $(`#q-${CSS.escape(q.id)}-error`);
    const fs = $(`#q-${CSS.escape(q.id)}`);
    if (!c.includes('blank') && c.length > q.max) {
      say(err, t('booth.too_many', { max: q.max }));
      fs.setAttribute('aria-invalid', 'true');
    } else {
      say(err, '');
      fs.removeAttribute('aria-invalid');
    }
  }
  scheduleEncryption();
}

function setTracking(mode, code = '') {
  $('#tracking-wait').hidden = mode !== 'wait';
  $('#tracking-progress').hidden = mode !== 'progress';
  $('#tracking-ready').hidden = mode !== 'ready';
  $('#tracking-code').textContent = code;
  $('#cast-button').disabled = mode !== 'ready';
  $('#challenge-button').disabled = mode !== 'ready';
}

function stopWorker() {
  if (state.worker) state.worker.terminate();
  state.worker = null;
  clearTimeout(state.timer);
}

// Any change forgets the committed ballot (it was neither cast nor challenged: it never
// left the page) and, once every question is answered, encrypts the new answers.
function scheduleEncryption() {
  stopWorker();
  state.ballot = null;
  const chosen = selections();
  const complete = state.questions.every((q) => B.validSelection(q, chosen[q.id]));
  if (!complete) {
    setTracking('wait');
    return;
  }
  setTracking('progress');
  $('#encrypt-progress').value = 0;
  state.timer = setTimeout(() => encrypt(chosen), 150);
}

function encrypt(choices) {
  const seq = ++state.seq;
  const info = state.info;
  const worker = new Worker(WORKER_URL);
  state.worker = worker;
  worker.onmessage = (ev) => {
    const msg = ev.data;
    if (seq !== state.seq) return;
    if (msg.type === 'progress') {
      $('#encrypt-progress').value = msg.done / msg.total;
      return;
    }
    worker.terminate();
    state.worker = null;
    if (msg.type === 'ballot') {
      state.ballot = msg;
      setTracking('ready', msg.trackingCode);
      $('#booth-status').textContent = t('booth.tracking_announce', { code: msg.trackingCode.slice(0, 8) });
      say($('#ballot-error'), '');
    } else {
      setTracking('wait');
      say($('#ballot-error'), t('booth.encrypt_failed', { detail: msg.message }));
    }
  };
  worker.onerror = (ev) => {
    if (seq !== state.seq) return;
    setTracking('wait');
    say($('#ballot-error'), t('booth.encrypt_failed', { detail: ev.message || 'worker' }));
  };
  worker.postMessage({
    id: seq,
    manifest: info.manifest,
    group: info.manifest.group || 'ristretto255',
    contextHex: info.context.context_hash,
    jointKeyHex: info.context.joint_key,
    region: state.region,
    choices,
    credential: state.credential,
    electionId: info.election_id,
    replaces: state.head,
  });
}

function startBallot(reset) {
  if (reset) {
    for (const i of $$('#questions input')) i.checked = false;
  }
  const region = state.manifest.regions.get(state.region);
  $('#ballot-region').textContent = t('booth.region', { region: region ? region.name : state.region });
  show('ballot');
  scheduleEncryption();
}

// -- cast ------------------------------------------------------------------------------

async function cast() {
  const ballot = state.ballot;
  if (!ballot) return;
  state.ballot = null; // a committed ballot is used once: cast or challenged, never both
  setTracking('progress');
  $('#encrypt-progress').removeAttribute('value'); // indeterminate while posting
  const err = $('#ballot-error');
  const post = (submission) => api(`${api0()}/ballots`, { json: submission, headers: { 'X-CSRF-Token': state.csrf } });
  try {
    let receipt;
    try {
      receipt = await post(ballot.cast);
    } catch (exc) {
      const head = staleHead(exc);
      if (head === undefined) throw exc;
      // Another ballot of this credential reached the board since the head was read:
      // the same encryption, signed to replace it, once.
      state.head = head;
      receipt = await post(B.castSubmission(ballot.ballot, state.info.election_id, state.credential, head));
    }
    state.head = receipt.tracking_code;
    await showReceipt(receipt);
  } catch (exc) {
    if (exc instanceof ApiError && exc.status === 401) {
      show('signin');
      say($('#signin-error'), t('booth.session_expired'));
      return;
    }
    if (exc instanceof ApiError && exc.status === 403 && !String(exc.message).includes('CSRF')) {
      show('credential');
      say($('#credential-error'), t('booth.cast_refused', { detail: exc.message }));
      return;
    }
    say(err, t('booth.cast_failed', { detail: errorText(exc) }));
    scheduleEncryption();
    focusOn(err);
  }
}

// The head a 409 "stale" answer names (undefined for any other error).
function staleHead(exc) {
  if (!(exc instanceof ApiError) || exc.status !== 409 || exc.detail !== 'stale') return undefined;
  const head = exc.body?.head?.tracking_code;
  return head === null || typeof head === 'string' ? head : undefined;
}

async function showReceipt(receipt) {
  const rid = document.body.dataset.rid;
  const full = { ...receipt, referendum: rid };
  $('#receipt-code').textContent = receipt.tracking_code;
  $('#receipt-index').textContent = String(receipt.index);
  $('#receipt-checkpoint').textContent = t('receipt.checkpoint_text', {
    size: receipt.checkpoint.size,
    time: receipt.checkpoint.time,
    root: receipt.checkpoint.root.slice(0, 16),
  });
  setDownload($('#receipt-download'), `receipt-${receipt.tracking_code.slice(0, 12)}.json`, JSON.stringify(full, null, 1) + '\n');
  $('#receipt-track').href = `/r/${encodeURIComponent(rid)}/track?code=${receipt.tracking_code}`;
  const list = $('#receipt-checks');
  delete list.dataset.verified;
  list.replaceChildren(el('li', { text: t('receipt.checking') }));
  show('receipt');
  try {
    const result = await verifyReceipt(rid, receipt, state.info.board_key);
    const ok = renderChecks(list, receipt, result);
    list.dataset.verified = ok ? 'yes' : 'no';
    list.append(summaryItem(ok, result));
  } catch (exc) {
    list.replaceChildren(el('li', { class: 'check-fail', text: errorText(exc) }));
    list.dataset.verified = 'no';
  }
}

// -- challenge -------------------------------------------------------------------------

function challenge() {
  const ballot = state.ballot;
  if (!ballot) return;
  state.ballot = null; // spent: its nonces are about to be shown
  stopWorker();
  const info = state.info;
  const group = info.manifest.group || 'ristretto255';
  const opened = B.openChallenged(group, info.manifest, info.context.context_hash, info.context.joint_key, ballot.challenge.data);
  state.challenge = ballot.challenge;
  const verdict = $('#challenge-verdict');
  verdict.textContent = opened.ok ? t('booth.challenge_ok') : t('booth.challenge_bad', { problem: opened.problem });
  verdict.className = opened.ok ? 'verdict ok' : 'verdict bad';
  $('#challenge-tracking').textContent = ballot.trackingCode;
  const dl = $('#challenge-choices');
  dl.replaceChildren();
  for (const a of opened.answers) {
    const names = a.choices.map((c) => (c === 'blank' ? t('booth.blank') : c));
    dl.append(el('dt', { text: state.texts[a.question] || a.question }), el('dd', { class: 'decoded', dataset: { question: a.question }, text: names.length ? names.join(', ') : t('booth.no_answer') }));
  }
  $('#post-challenge').disabled = false;
  say($('#challenge-posted'), '');
  say($('#challenge-error'), '');
  setTracking('wait');
  show('challenge');
}

async function postChallenge() {
  if (!state.challenge) return;
  const button = $('#post-challenge');
  button.disabled = true;
  try {
    // No cookie, no credential, no signature: nothing ties this challenge to the voter.
    const r = await api(`${api0()}/challenges`, { json: state.challenge, credentials: 'omit' });
    state.challenge = null;
    const status = $('#challenge-posted');
    status.hidden = false;
    status.replaceChildren(
      t('booth.challenge_posted', { index: r.index }),
      ' ',
      el('a', { href: `/r/${encodeURIComponent(document.body.dataset.rid)}/track?code=${r.tracking_code}`, text: t('receipt.track') }),
    );
  } catch (exc) {
    button.disabled = false;
    say($('#challenge-error'), errorText(exc));
  }
}

// -- sign out --------------------------------------------------------------------------

async function signOut() {
  try {
    await api(`${api0()}/signout`, { method: 'POST' });
  } catch {
    // the session ends within the hour anyway
  }
  state.csrf = null;
  state.credential = null;
  state.head = null;
  $('#credential').value = '';
  show('signin');
  say($('#signin-error'), '');
  $('#signout-status').textContent = '';
}

// -- the booth's own code against the board ----------------------------------------------

async function checkBoothFiles() {
  const out = $('#booth-integrity');
  const want = { 'booth.js': root.dataset.boothSha256, 'worker.js': root.dataset.workerSha256 };
  if (!want['booth.js'] || !want['worker.js']) {
    out.textContent = t('booth.code_unpublished');
    return;
  }
  try {
    const bad = [];
    for (const [file, digest] of Object.entries(want)) {
      const res = await fetch(`/static/js/${file}`, { cache: 'no-store', credentials: 'omit' });
      const got = B.sha256Hex(new Uint8Array(await res.arrayBuffer()));
      if (got !== digest) bad.push(file);
    }
    out.textContent = bad.length ? t('booth.code_differs', { files: bad.join(', ') }) : t('booth.code_matches');
    out.className = bad.length ? 'error' : 'meta';
  } catch (exc) {
    out.textContent = errorText(exc);
  }
}

// -- start -----------------------------------------------------------------------------

async function start() {
  const fromLink = credentialFromLink();
  if (fromLink) {
    state.credential = fromLink;
    $('#credential').value = fromLink;
    $('#credential-from-link').hidden = false;
  }
  try {
    state.info = await api(api0());
    state.manifest = B.parseManifest(state.info.manifest);
    for (const q of state.info.manifest.questions) state.texts[q.id] = q.text;
  } catch (exc) {
    say($('#booth-loading'), errorText(exc));
    return;
  }
  $('#booth-loading').hidden = true;
  $('#signin-form').addEventListener('submit', signIn);
  $('#credential-form').addEventListener('submit', takeCredential);
  $('#show-credential').addEventListener('change', (ev) => {
    $('#credential').type = ev.target.checked ? 'text' : 'password';
  });
  $('#ballot-form').addEventListener('submit', (ev) => ev.preventDefault());
  $('#ballot-form').addEventListener('change', onAnswer);
  $('#cast-button').addEventListener('click', cast);
  $('#challenge-button').addEventListener('click', challenge);
  $('#post-challenge').addEventListener('click', postChallenge);
  $('#vote-again').addEventListener('click', () => startBallot(false));
  $('#revote').addEventListener('click', () => startBallot(true));
  $('#signout').addEventListener('click', signOut);
  $('#step-signin').hidden = false;
  $('#signin-code').focus();
  root.dataset.ready = 'yes';
  checkBoothFiles();
}

if (root) start();
