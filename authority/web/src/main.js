// The verifier page: sign in with the API key, read a code (camera, picture, barcode digits
// or licence number and manual code), ask the authority (POST /v1/verify) and show what it
// says, with the photo it names (GET /v1/photos/{digest}, checked against the digest). The key lives in this page's memory only (D225: not sessionStorage,
// which a reopened, duplicated or restored tab gets back and a browser writes to disk for
// its session restore) and travels only in the X-EDL-Api-Key header, never in a URL. Nothing of a check outlives the sign-out: both
// requests bypass the browser's cache, and signing out empties the result and the forms
// and releases the photo (D147; the page often runs on a counter PC that clerks share).

import jsQR from 'jsqr';
import { initialLang, currentLang, setLang } from './i18n.js';
import { renderNotice, renderRefusal, renderVerdict } from './render.js';

/** Where pages before D225 kept the key; removed at start. */
const KEY = 'edl.verifier.apiKey';
/** The verifier's API key, for this page's life only. */
let apiKey = null;
/** Longest side a picture is scaled to before looking for the QR (keeps phones quick). */
const MAX_SIDE = 1280;

const $ = (id) => document.getElementById(id);
let last = null; // the outcome on screen, redrawn when the language changes
let stream = null;
let photoSrc = null; // the blob URL of the photo on screen, released when replaced
let session = 0; // counts sign-ins and sign-outs: an answer to an earlier session is dropped

function show(outcome, { focus = true } = {}) {
  if (outcome.kind !== 'verdict') releasePhoto();
  last = outcome;
  const area = $('result');
  if (outcome.kind === 'verdict') renderVerdict(area, outcome.answer);
  else if (outcome.kind === 'refusal') renderRefusal(area, outcome.code, outcome.body, outcome.retryAfter);
  else renderNotice(area, outcome.key, outcome.args);
  area.hidden = false;
  // The verdict is announced by aria-live; focus moves there so a keyboard user is next to it.
  if (focus) area.focus();
}

function signedIn() {
  const on = Boolean(apiKey);
  $('login').hidden = on;
  $('check').hidden = !on;
  $('sign-out').hidden = !on;
  if (!on) forget();
  return on;
}

function releasePhoto() {
  if (photoSrc) URL.revokeObjectURL(photoSrc);
  photoSrc = null;
}

/** What the forms still hold of the last check: the typed number, code and digits. */
function clearForms() {
  for (const id of ['barcode', 'licence-number', 'manual-code', 'qr-file']) $(id).value = '';
}

/**
 * Signed out: nothing of the last check stays for the next person at this browser. The
 * verdict and the view leave the DOM, the photo's blob URL is revoked, the forms are
 * emptied, and an answer still on its way is dropped when it comes.
 */
function forget() {
  session += 1;
  stopCamera();
  releasePhoto();
  const area = $('result');
  area.replaceChildren();
  area.className = 'result';
  area.hidden = true;
  last = null;
  clearForms();
}

async function verify(request) {
  const key = apiKey;
  if (!key) return signedIn();
  const mine = session;
  const area = $('result');
  area.setAttribute('aria-busy', 'true');
  document.body.classList.add('busy');
  try {
    let res;
    try {
      res = await fetch('/v1/verify', {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', 'X-EDL-Api-Key': key },
        body: JSON.stringify(request),
        cache: 'no-store',
        credentials: 'omit',
      });
    } catch {
      if (mine !== session) return;
      return show({ kind: 'notice', key: 'networkError' });
    }
    const body = await res.json().catch(() => ({}));
    if (mine !== session) return; // signed out meanwhile: the answer is not shown
    if (res.ok) {
      const src = await fetchPhoto(body.photo_digest, body.photo_grant, key);
      if (mine !== session) {
        if (src) URL.revokeObjectURL(src);
        return;
      }
      releasePhoto();
      photoSrc = src;
      return show({ kind: 'verdict', answer: { ...body, photoSrc: src } });
    }
    const code = body.error || 'internal';
    show({ kind: 'refusal', code, body, retryAfter: res.headers.get('Retry-After') });
    if (code === 'unauthorized') {
      // The refusal stays to say why; what was typed for the check goes with the key.
      apiKey = null;
      session += 1;
      clearForms();
      $('login').hidden = false;
      $('check').hidden = true;
      $('sign-out').hidden = true;
    }
  } finally {
    area.removeAttribute('aria-busy');
    document.body.classList.remove('busy');
  }
}

/**
 * The photo a verify answer names, fetched by its digest with the key and the answer's
 * photo grant in the headers (D155), and checked against the digest (the answer carries no
 * photo). A blob URL, or null when it
 * cannot be had: the verdict still shows, without a photo to compare; the caller keeps it
 * in `photoSrc` while it is on screen. `no-store`: the server lets a private cache keep
 * it if asked about before each use, but this page runs on counter PCs that clerks share,
 * so the browser's cache neither answers nor keeps it: the photo is only in this page's
 * memory until the next check or the sign-out (D147).
 */
async function fetchPhoto(digest, grant, key) {
  if (typeof digest !== 'string' || !/^[0-9a-f]{64}$/.test(digest)) return null;
  if (typeof grant !== 'string' || !/^[A-Za-z0-9_-]{1,128}$/.test(grant)) return null;
  try {
    const res = await fetch(`/v1/photos/${digest}`, {
      headers: { 'X-EDL-Api-Key': key, 'X-EDL-Photo-Grant': grant },
      cache: 'no-store',
      credentials: 'omit',
    });
    if (!res.ok) return null;
    const blob = await res.blob();
    // crypto.subtle exists on https and localhost; elsewhere the page cannot check.
    if (crypto.subtle) {
      const hash = new Uint8Array(await crypto.subtle.digest('SHA-256', await blob.arrayBuffer()));
      const hex = Array.from(hash, (b) => b.toString(16).padStart(2, '0')).join('');
      if (hex !== digest) return null;
    }
    return URL.createObjectURL(blob);
  } catch {
    return null;
  }
}

function base64(bytes) {
  let s = '';
  for (const b of bytes) s += String.fromCharCode(b);
  return btoa(s);
}

/** Sends the raw bytes of a scanned QR; an offline QR is named here, not sent. */
function verifyQrBytes(bytes) {
  // Header byte: bits 3–2 are the form (0 online, 1 offline); docs/PROTOCOL.md.
  if (bytes.length > 0 && ((bytes[0] >> 2) & 3) === 1) return show({ kind: 'notice', key: 'offlineQr' });
  return verify({ method: 'qr', payload: base64(bytes) });
}

function findQr(source, width, height) {
  const scale = Math.min(1, MAX_SIDE / Math.max(width, height));
  const w = Math.max(1, Math.round(width * scale));
  const h = Math.max(1, Math.round(height * scale));
  const canvas = document.createElement('canvas');
  canvas.width = w;
  canvas.height = h;
  const ctx = canvas.getContext('2d', { willReadFrequently: true });
  ctx.drawImage(source, 0, 0, w, h);
  const { data } = ctx.getImageData(0, 0, w, h);
  return jsQR(data, w, h, { inversionAttempts: 'attemptBoth' });
}

async function onPicture(event) {
  const file = event.target.files?.[0];
  if (!file) return;
  let bitmap;
  try {
    bitmap = await createImageBitmap(file);
  } catch {
    return show({ kind: 'notice', key: 'noQrInImage' });
  }
  const found = findQr(bitmap, bitmap.width, bitmap.height);
  bitmap.close();
  event.target.value = ''; // the same file can be chosen again
  if (!found) return show({ kind: 'notice', key: 'noQrInImage' });
  await verifyQrBytes(found.binaryData);
}

async function startCamera() {
  const video = $('camera');
  try {
    stream = await navigator.mediaDevices.getUserMedia({ video: { facingMode: 'environment' }, audio: false });
  } catch (e) {
    return show({ kind: 'notice', key: 'cameraUnavailable', args: { why: e?.name || 'error' } });
  }
  video.srcObject = stream;
  await video.play().catch(() => {});
  $('start-camera').hidden = true;
  $('stop-camera').hidden = false;
  $('camera-box').hidden = false;
  $('stop-camera').focus();
  const tick = async () => {
    if (!stream) return;
    if (video.readyState >= 2 && video.videoWidth > 0) {
      const found = findQr(video, video.videoWidth, video.videoHeight);
      if (found && found.binaryData.length > 0) {
        stopCamera();
        return verifyQrBytes(found.binaryData);
      }
    }
    setTimeout(() => requestAnimationFrame(tick), 120);
  };
  requestAnimationFrame(tick);
}

function stopCamera() {
  if (stream) for (const track of stream.getTracks()) track.stop();
  stream = null;
  const video = $('camera');
  if (video) video.srcObject = null;
  $('camera-box').hidden = true;
  $('stop-camera').hidden = true;
  $('start-camera').hidden = false;
}

function digitsOnly(text) {
  return text.replace(/\s+/g, '');
}

function init() {
  setLang(initialLang(navigator.language), document);
  $('lang').addEventListener('click', () => {
    setLang(currentLang() === 'zh' ? 'en' : 'zh', document);
    if (last) show(last, { focus: false });
  });
  $('login-form').addEventListener('submit', (e) => {
    e.preventDefault();
    const key = $('api-key').value.trim();
    if (!key) return;
    apiKey = key;
    $('api-key').value = '';
    signedIn();
    $('start-camera').focus();
  });
  $('sign-out').addEventListener('click', () => {
    apiKey = null;
    signedIn();
    $('api-key').focus();
  });
  $('start-camera').addEventListener('click', startCamera);
  $('stop-camera').addEventListener('click', stopCamera);
  $('qr-file').addEventListener('change', onPicture);
  $('barcode-form').addEventListener('submit', (e) => {
    e.preventDefault();
    verify({ method: 'barcode', text: digitsOnly($('barcode').value) });
  });
  $('manual-form').addEventListener('submit', (e) => {
    e.preventDefault();
    verify({ method: 'manual', licence_number: $('licence-number').value.trim(), code: digitsOnly($('manual-code').value) });
  });
  // Leaving the page signs out, so a page the browser keeps and shows again (back and
  // forward) does not come back signed in either.
  window.addEventListener('pagehide', () => {
    apiKey = null;
    signedIn();
  });
  sessionStorage.removeItem(KEY);
  signedIn();
}

init();
