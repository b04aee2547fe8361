// Draws an answer of POST /v1/verify into the result area: the verdict in words, the photo,
// and every field of the view the server sent, labelled in the page's language. Built with
// DOM calls and textContent only: nothing from the server is ever parsed as HTML.

import { pick, t } from './i18n.js';
import { FIELD_LABELS, NOT_IN_FORCE, REFUSALS, VALUE_NAMES } from './reasons.js';

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  for (const c of children) node.append(c);
  return node;
}

function label(key) {
  const row = FIELD_LABELS[key];
  return row ? pick(row) : key.replace(/_/g, ' ');
}

/** "14 min" or "40 s" for a wait in seconds; "a few seconds" when none was given. */
export function formatWait(seconds) {
  if (seconds === null || seconds === undefined || seconds === '') return t('fewSeconds');
  const s = Math.max(0, Math.ceil(Number(seconds) || 0));
  return s >= 60 ? t('minutes', { n: Math.ceil(s / 60) }) : t('seconds', { n: s });
}

/**
 * A field's value as text. `statusLabel` is the answer's `status_label` (the server names
 * the status in both languages, so the page keeps no table of status letters); an answer
 * without it falls back to VALUE_NAMES.
 */
function scalar(key, value, statusLabel) {
  if (value === null || value === undefined || value === '') return t('none');
  if (typeof value === 'boolean') return value ? t('yes') : t('no');
  if (key === 'status' && statusLabel && pick(statusLabel)) {
    return t('statusWithCode', { label: pick(statusLabel), code: value });
  }
  const named = VALUE_NAMES[key]?.[value];
  return named ? pick(named) : String(value);
}

/** A <dl> of every field of `obj`; nested objects and lists become nested groups. */
function fields(obj, statusLabel) {
  const dl = el('dl', { class: 'fields' });
  for (const [key, value] of Object.entries(obj)) {
    const dt = el('dt', { 'data-field': key }, label(key));
    let dd;
    if (Array.isArray(value)) {
      dd = value.length === 0
        ? el('dd', {}, t('none'))
        : el('dd', {}, el('ol', { class: 'entries' }, ...value.map((v) => el('li', {}, typeof v === 'object' && v ? fields(v, statusLabel) : scalar(key, v, statusLabel)))));
    } else if (value && typeof value === 'object') {
      dd = el('dd', {}, fields(value, statusLabel));
    } else {
      dd = el('dd', {}, scalar(key, value, statusLabel));
    }
    dd.setAttribute('data-field', key);
    dl.append(dt, dd);
  }
  return dl;
}

/** Shows a successful answer (200): in force or not, the photo and the view. */
export function renderVerdict(area, answer) {
  area.replaceChildren();
  const ok = answer.in_force === true;
  area.className = `result ${ok ? 'valid' : 'invalid'}`;
  area.append(el('h2', { id: 'verdict', 'data-verdict': ok ? 'valid' : 'not_in_force' }, t(ok ? 'verdictValid' : 'verdictNotInForce')));
  if (!ok && answer.not_in_force_reason) {
    const row = NOT_IN_FORCE[answer.not_in_force_reason];
    area.append(el('p', { class: 'reason', 'data-reason': answer.not_in_force_reason }, row ? pick(row) : answer.not_in_force_reason));
  }
  const view = answer.view || {};
  const body = el('div', { class: 'view' });
  if (answer.photoSrc) {
    // A blob URL of the photo fetched by its digest (main.js); it is not in the answer.
    const img = el('img', { class: 'photo', src: answer.photoSrc, alt: t('photoAlt') });
    body.append(el('figure', {}, img, el('figcaption', {}, t('photoHint'))));
  } else {
    body.append(el('p', { class: 'photo-missing', 'data-photo': 'missing' }, t('photoMissing')));
  }
  const details = el('div', { class: 'details' });
  details.append(el('p', { class: 'audience', 'data-audience': view.audience || '' }, view.audience === 'enforcement' ? t('viewEnforcement') : t('viewBusiness')));
  const { audience: _audience, ...pages } = view;
  for (const [key, value] of Object.entries(pages)) {
    if (value && typeof value === 'object' && !Array.isArray(value) && Object.values(value).every((v) => v && typeof v === 'object' && !Array.isArray(v))) {
      // A licence: one section per page.
      for (const [page, content] of Object.entries(value)) {
        details.append(el('section', { class: 'page' }, el('h3', {}, label(page)), fields(content, answer.status_label)));
      }
    } else {
      details.append(el('section', { class: 'page' }, el('h3', {}, label(key)), fields(value, answer.status_label)));
    }
  }
  details.append(fields({ elicence_id: answer.elicence_id }));
  if (answer.checked_at) {
    const when = new Date(answer.checked_at * 1000).toLocaleString(document.documentElement.lang === 'en' ? 'en-GB' : 'zh-CN');
    details.append(el('p', { class: 'checked' }, t('checkedAt', { time: when })));
  }
  body.append(details);
  area.append(body);
}

/** Shows a refusal: `code` is the API's error code (or a local one), `body` its error body. */
export function renderRefusal(area, code, body = {}, retryAfter = null) {
  area.replaceChildren();
  area.className = 'result refused';
  area.append(el('h2', { id: 'verdict', 'data-verdict': 'refused' }, t('verdictRefused')));
  const row = REFUSALS[code];
  const wait = formatWait(body.retry_after ?? retryAfter);
  const text = row ? pick(row).replace('{wait}', wait) : `${code}`;
  area.append(el('p', { class: 'reason', 'data-reason': code }, text));
}

/** Shows a message of the page itself (no QR in the picture, camera refused, offline). */
export function renderNotice(area, key, args = {}) {
  area.replaceChildren();
  area.className = 'result notice';
  area.append(el('p', { class: 'reason', 'data-reason': key }, t(key, args)));
}
