// Shared helpers of the page scripts: translations (the page's catalogue, embedded as a
// JSON data block), the JSON API, small DOM helpers, downloads, focus management.
// No inline script or style anywhere: the Content-Security-Policy forbids both.

const catalogue = (() => {
  try {
    return JSON.parse(document.getElementById('i18n')?.textContent || '{}');
  } catch {
    return {};
  }
})();

export const lang = document.documentElement.lang || 'en';
export const rid = document.body.dataset.rid || null;

/** The translation of `key`, with `{name}` fields filled from `fields`. */
export function t(key, fields = {}) {
  const text = catalogue[key] ?? key;
  return text.replace(/\{(\w+)\}/g, (m, name) => (name in fields ? String(fields[name]) : m));
}

/** The name of an entry type (the type itself when the catalogue lacks it). */
export function entryName(type) {
  return catalogue[`entry.${type}`] ?? String(type);
}

export class ApiError extends Error {
  constructor(status, detail, body = null) {
    super(typeof detail === 'string' ? detail : JSON.stringify(detail));
    this.name = 'ApiError';
    this.status = status;
    this.detail = detail;
    this.body = body; // the whole JSON answer (a 409 "stale" names the head in it)
  }
}

/**
 * Call the JSON API. `opts.json` is sent as the JSON body; `opts.credentials` defaults to
 * 'same-origin' ('omit' sends no cookie at all). Resolves with the parsed JSON (or text).
 */
export async function api(path, opts = {}) {
  const init = {
    method: opts.method || (opts.json !== undefined || opts.body !== undefined ? 'POST' : 'GET'),
    headers: { Accept: 'application/json', ...(opts.headers || {}) },
    credentials: opts.credentials || 'same-origin',
    cache: 'no-store',
  };
  if (opts.json !== undefined) {
    init.headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(opts.json);
  } else if (opts.body !== undefined) {
    init.body = opts.body;
  }
  let response;
  try {
    response = await fetch(path, init);
  } catch (exc) {
    throw new ApiError(0, t('error.network'));
  }
  const type = response.headers.get('content-type') || '';
  const payload = type.includes('json') ? await response.json().catch(() => null) : await response.text();
  if (!response.ok) {
    const detail = payload && typeof payload === 'object' && 'detail' in payload ? payload.detail : payload;
    throw new ApiError(response.status, detail || response.statusText, payload);
  }
  return payload;
}

/** Create an element: el('p', {class: 'x', text: '…'}, child, …). */
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === null || v === undefined || v === false) continue;
    if (k === 'text') node.textContent = v;
    else if (k === 'class') node.className = v;
    else if (k === 'dataset') Object.assign(node.dataset, v);
    else if (v === true) node.setAttribute(k, '');
    else node.setAttribute(k, String(v));
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    node.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return node;
}

export const $ = (sel, root = document) => root.querySelector(sel);
export const $$ = (sel, root = document) => [...root.querySelectorAll(sel)];

/** Show a message in an element (hidden when empty). */
export function say(node, text) {
  if (!node) return;
  node.textContent = text || '';
  node.hidden = !text;
}

/** Move the keyboard (and screen reader) focus to a heading or region. */
export function focusOn(node) {
  if (!node) return;
  if (!node.hasAttribute('tabindex')) node.setAttribute('tabindex', '-1');
  node.focus({ preventScroll: false });
}

/** Point a link at a downloadable file made in the page (an object URL). */
export function setDownload(link, filename, text, type = 'application/json') {
  if (link.dataset.url) URL.revokeObjectURL(link.dataset.url);
  const url = URL.createObjectURL(new Blob([text], { type }));
  link.href = url;
  link.dataset.url = url;
  link.download = filename;
  link.hidden = false;
}

/** A list item for a check: passed, failed or not run, with its label. */
export function checkItem(ok, label, detail = '') {
  const state = ok === true ? 'pass' : ok === false ? 'fail' : 'skip';
  const word = t(`check.${state}`);
  return el('li', { class: `check-${state}` }, el('span', { class: 'check-mark', 'aria-hidden': 'true', text: ok === true ? '✓' : ok === false ? '✗' : '–' }), ' ', el('strong', { text: word }), ' ', label, detail ? el('span', { class: 'meta', text: ` (${detail})` }) : null);
}

/** An error as a message for the voter. */
export function errorText(exc) {
  if (exc instanceof ApiError) {
    if (exc.status === 0) return exc.message;
    return t('error.server', { status: exc.status, detail: exc.message });
  }
  return t('error.unexpected', { detail: exc?.message ?? String(exc) });
}
