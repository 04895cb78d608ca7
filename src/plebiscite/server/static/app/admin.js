// Admin page: the admin token is typed here and kept in sessionStorage (this tab only);
// every action is an API call with it, and every action the server takes is a board
// entry. Create a referendum from the form or a file; import a voter roll (CSV), which
// returns the sign-in codes once: download them and print the invitation letters.

import { $, $$, ApiError, api, el, errorText, say, setDownload, t } from './common.js';

const KEY = 'plebiscite-admin-token';

const token = () => sessionStorage.getItem(KEY) || '';

function authed(path, opts = {}) {
  if (!token()) throw new ApiError(401, t('admin.token_needed'));
  return api(path, { ...opts, headers: { ...(opts.headers || {}), Authorization: `Bearer ${token()}` }, credentials: 'omit' });
}

function showTokenState() {
  say($('#token-status'), token() ? t('admin.token_kept') : t('admin.token_none'));
}

// -- token -------------------------------------------------------------------------------

$('#token-form').addEventListener('submit', (ev) => {
  ev.preventDefault();
  const v = $('#token').value.trim();
  if (v) sessionStorage.setItem(KEY, v);
  $('#token').value = '';
  showTokenState();
});
$('#token-forget').addEventListener('click', () => {
  sessionStorage.removeItem(KEY);
  showTokenState();
});

// -- referendum actions ----------------------------------------------------------------------

for (const button of $$('button[data-action]')) {
  button.addEventListener('click', async () => {
    const { action, rid } = button.dataset;
    const status = $('#action-status');
    button.disabled = true;
    say(status, t('admin.working'));
    try {
      const r = await authed(`/api/admin/referendums/${encodeURIComponent(rid)}/${action}`, { method: 'POST' });
      say(status, t('admin.done', { action: button.textContent, result: JSON.stringify(r) }));
    } catch (exc) {
      say(status, errorText(exc));
    } finally {
      button.disabled = false;
    }
  });
}

// -- create: the form ------------------------------------------------------------------------

let counter = 0;

function addBlock(templateId, boxId, legendKey) {
  const frag = $(templateId).content.cloneNode(true);
  const fs = frag.querySelector('fieldset');
  const n = ++counter;
  for (const input of $$('[data-name]', fs)) input.id = `${input.dataset.name}-${n}`;
  for (const label of $$('label[data-for]', fs)) label.htmlFor = `${label.dataset.for}-${n}`;
  const box = $(boxId);
  box.append(fs);
  const renumber = () => $$('fieldset', box).forEach((f, i) => { f.querySelector('legend').textContent = t(legendKey, { n: i + 1 }); });
  fs.querySelector('.remove').addEventListener('click', () => {
    fs.remove();
    renumber();
  });
  renumber();
  return fs;
}

const val = (fs, name) => fs.querySelector(`[data-name="${name}"]`);
const list = (text) => text.split(',').map((s) => s.trim()).filter(Boolean);

function isoFromLocal(value) {
  const d = new Date(value);
  return Number.isNaN(d.getTime()) ? value : d.toISOString();
}

function manifestFromForm() {
  const m = {
    title: $('#m-title').value.trim(),
    group: $('#m-group').value,
    opens: isoFromLocal($('#m-opens').value),
    closes: isoFromLocal($('#m-closes').value),
    guardians: { count: Number($('#m-guardians').value), quorum: Number($('#m-quorum').value) },
    questions: [],
    regions: [],
  };
  const description = $('#m-description').value.trim();
  if (description) m.description = description;
  const rule = {};
  if ($('#m-turnout').value !== '') rule.turnout_min = Number($('#m-turnout').value) / 100;
  if ($('#m-majority').value !== '') rule.majority = Number($('#m-majority').value) / 100;
  if (Object.keys(rule).length) m.rule = rule;
  for (const fs of $$('#m-questions fieldset')) {
    m.questions.push({
      id: val(fs, 'q-id').value.trim(),
      text: val(fs, 'q-text').value.trim(),
      options: list(val(fs, 'q-options').value),
      min: Number(val(fs, 'q-min').value || 1),
      max: Number(val(fs, 'q-max').value || 1),
      blank: val(fs, 'q-blank').checked,
    });
  }
  const allQuestions = m.questions.map((q) => q.id);
  for (const fs of $$('#m-regions fieldset')) {
    const qs = list(val(fs, 'r-questions').value);
    m.regions.push({ id: val(fs, 'r-id').value.trim(), name: val(fs, 'r-name').value.trim(), questions: qs.length ? qs : allQuestions });
  }
  return m;
}

async function create(manifest) {
  const status = $('#create-status');
  say(status, t('admin.working'));
  try {
    const r = await authed('/api/admin/referendums', { json: manifest });
    status.replaceChildren(t('admin.created', { id: r.id }), ' ', el('a', { href: `/r/${r.id}`, text: t('admin.open_page') }));
    status.hidden = false;
  } catch (exc) {
    say(status, errorText(exc));
  }
}

$('#add-question').addEventListener('click', () => addBlock('#question-template', '#m-questions', 'admin.question_n'));
$('#add-region').addEventListener('click', () => addBlock('#region-template', '#m-regions', 'admin.region_n'));
addBlock('#question-template', '#m-questions', 'admin.question_n');
addBlock('#region-template', '#m-regions', 'admin.region_n');

$('#create-form').addEventListener('submit', (ev) => {
  ev.preventDefault();
  const form = ev.target;
  if (!form.checkValidity()) {
    form.reportValidity();
    return;
  }
  create(manifestFromForm());
});

$('#create-file-form').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  const file = $('#manifest-file').files[0];
  const text = file ? await file.text() : $('#manifest-text').value;
  let manifest;
  try {
    manifest = JSON.parse(text);
  } catch {
    say($('#create-status'), t('admin.not_json'));
    return;
  }
  create(manifest);
});

// -- voter roll and letters ------------------------------------------------------------------

function parseCsv(text) {
  const rows = [];
  for (const line of text.split(/\r?\n/)) {
    if (!line.trim()) continue;
    const cells = [];
    let cur = '';
    let quoted = false;
    for (let i = 0; i < line.length; i++) {
      const ch = line[i];
      if (quoted) {
        if (ch === '"' && line[i + 1] === '"') {
          cur += '"';
          i++;
        } else if (ch === '"') quoted = false;
        else cur += ch;
      } else if (ch === '"') quoted = true;
      else if (ch === ',') {
        cells.push(cur);
        cur = '';
      } else cur += ch;
    }
    cells.push(cur);
    rows.push(cells);
  }
  return rows;
}

function letters(rid, title, rows) {
  const box = $('#letters');
  box.replaceChildren();
  const booth = `${location.origin}/r/${rid}/booth`;
  for (const [voter, region, code] of rows) {
    box.append(
      el(
        'article',
        { class: 'letter' },
        el('h2', { text: t('letter.title', { title }) }),
        el('p', { text: t('letter.to', { voter, region }) }),
        el('p', { text: t('letter.body') }),
        el('p', { class: 'letter-code' }, t('letter.code'), ' ', el('strong', { text: code })),
        el('p', {}, t('letter.where'), ' ', el('strong', { text: booth })),
        el('p', { text: t('letter.credential') }),
        el('p', { text: t('letter.privacy') }),
      ),
    );
  }
}

$('#roll-form').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  const status = $('#roll-status');
  const select = $('#roll-referendum');
  const rid = select.value;
  const title = select.selectedOptions[0]?.textContent || rid;
  const file = $('#roll-file').files[0];
  const text = file ? await file.text() : $('#roll-text').value;
  if (!text.trim()) {
    say(status, t('admin.roll_empty'));
    return;
  }
  say(status, t('admin.working'));
  try {
    const csv = await authed(`/api/admin/referendums/${encodeURIComponent(rid)}/roll`, { body: text, headers: { 'Content-Type': 'text/csv' } });
    const rows = parseCsv(String(csv)).slice(1);
    const tbody = $('#roll-table tbody');
    tbody.replaceChildren(...rows.map(([v, r, c]) => el('tr', {}, el('td', { text: v }), el('td', { text: r }), el('td', {}, el('code', { text: c })))));
    setDownload($('#roll-download'), `sign-in-codes-${rid}.csv`, String(csv), 'text/csv');
    letters(rid, title.replace(/\s*\([0-9a-f]+\)$/, ''), rows);
    $('#roll-result').hidden = false;
    say(status, t('admin.roll_done', { n: rows.length }));
  } catch (exc) {
    say(status, errorText(exc));
  }
});

$('#roll-print').addEventListener('click', () => window.print());

showTokenState();
document.body.dataset.ready = 'yes';
