// The verifier page in a real browser (headless Chromium) against a real authority on
// loopback, with codes made by a real wallet (`edl wallet`): what a rental clerk or a
// police officer sees for a good, tampered, expired, already used or typed code, and while
// the authority cannot write, and what a business never receives.

import { spawn } from 'node:child_process';
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import QRCode from 'qrcode';
import { ADDRESS, NAME, NUMBER, startFixture } from './fixture.mjs';
import { launch, signIn } from './browser.mjs';
import { qrPngToY4m } from './camera.mjs';

let f;
let browser;

before(async () => {
  f = await startFixture();
  browser = await launch();
});

after(async () => {
  await browser?.close();
  await f?.stop();
});

/** Uploads a picture of a QR and waits for the verdict. */
async function scanPicture(page, file) {
  await page.setInputFiles('#qr-file', file);
  return verdict(page);
}

async function verdict(page) {
  const h = page.locator('#result #verdict, #result .reason').first();
  await h.waitFor();
  return page.evaluate(() => ({
    verdict: document.querySelector('#verdict')?.dataset.verdict ?? null,
    reason: document.querySelector('#result .reason')?.dataset.reason ?? null,
    text: document.getElementById('result').innerText,
  }));
}

/** Writes a QR PNG holding exactly `bytes` (byte mode), as a forger's screen would show. */
async function qrOf(bytes, name) {
  const file = join(f.dir, name);
  await QRCode.toFile(file, [{ data: Uint8Array.from(bytes), mode: 'byte' }], { errorCorrectionLevel: 'M', scale: 8 });
  return file;
}

describe('the verifier page', () => {
  test('is served from the authority with a strict policy and no inline code', async () => {
    const res = await fetch(`${f.url}/verify`);
    assert.equal(res.status, 200);
    const csp = res.headers.get('content-security-policy');
    assert.match(csp, /default-src 'none'/);
    assert.match(csp, /script-src 'self';/);
    assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval|https?:/);
    assert.equal(res.headers.get('x-content-type-options'), 'nosniff');
    assert.equal(res.headers.get('referrer-policy'), 'no-referrer');
    const html = await res.text();
    assert.doesNotMatch(html, /<script(?![^>]*\ssrc=)/, 'every script is a file');
    assert.doesNotMatch(html, /\sstyle=|<style|\son[a-z]+=/i, 'no inline style or handler');
    for (const asset of ['/verify/assets/verify.js', '/verify/assets/verify.css', '/verify/assets/icon.svg']) {
      const r = await fetch(f.url + asset);
      assert.equal(r.status, 200, asset);
      assert.equal(r.headers.get('x-content-type-options'), 'nosniff');
    }
  });

  test('a first visit asks for no file the server lacks (its icon included)', async () => {
    // A browser of its own: Chromium asks for a page's icon once a browser (the favicon
    // cache), so only the first visit shows a missing one, as a console error naming no URL
    // that could land in whichever test looked next (one CI run saw it there).
    const fresh = await launch();
    try {
      const page = await (await fresh.newContext()).newPage();
      const errors = [];
      page.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
      await page.goto(`${f.url}/verify`);
      await page.waitForLoadState('networkidle');
      // The icon is fetched outside the page's own requests: give it time to be refused.
      await new Promise((resolve) => setTimeout(resolve, 1500));
      assert.deepEqual(errors, []);
    } finally {
      await fresh.close();
    }
  });

  test('a good online QR picture verifies and police see both pages and the photo', async () => {
    const { context, page } = await signIn(browser, f.url, f.policeKey);
    const sent = [];
    page.on('request', (r) => sent.push(r));
    const csp = [];
    page.on('console', (m) => m.type() === 'error' && csp.push(m.text()));
    // Which answer was refused, if any: a console error names no URL.
    const refused = [];
    page.on('response', (r) => r.status() >= 400 && refused.push(`${r.status()} ${r.url()}`));
    const seen = await scanPicture(page, f.qrPng('good.png'));
    assert.equal(seen.verdict, 'valid', seen.text);
    assert.match(seen.text, /Valid: the licence is in force/);
    assert.match(seen.text, /Enforcement view/);
    assert.ok(seen.text.includes(ADDRESS), 'police see the address');
    assert.ok(seen.text.includes(NUMBER), 'police see the full number');
    const photo = page.locator('#result img.photo');
    const box = await photo.boundingBox();
    assert.ok(box.width >= 240 && box.height >= 320, `photo large enough to compare: ${JSON.stringify(box)}`);
    assert.ok(await photo.evaluate((img) => img.complete && img.naturalWidth > 0), 'the photo loads under the policy');
    // The key went in the header only: in no URL, no cookie, and not in localStorage.
    const verify = sent.find((r) => r.url().endsWith('/v1/verify'));
    assert.equal(await verify.headerValue('x-edl-api-key'), f.policeKey);
    // The answer is small and names the photo; the photo came by its digest, with the key.
    const answer = await (await verify.response()).body();
    assert.ok(answer.length < 2048, `verify answer of ${answer.length} bytes`);
    const photoRequest = sent.find((r) => /\/v1\/photos\/[0-9a-f]{64}$/.test(r.url()));
    assert.ok(photoRequest, 'the photo is fetched by its digest');
    assert.equal(await photoRequest.headerValue('x-edl-api-key'), f.policeKey);
    // With the answer's grant, which any authority process honours (D155).
    const grant = JSON.parse(answer.toString()).photo_grant;
    assert.match(grant, /^[A-Za-z0-9_-]{40,}$/);
    assert.equal(await photoRequest.headerValue('x-edl-photo-grant'), grant);
    assert.equal((await photoRequest.response()).status(), 200);
    assert.ok(sent.every((r) => !r.url().includes(f.policeKey)));
    assert.ok(!page.url().includes(f.policeKey));
    assert.deepEqual(await context.cookies(), []);
    assert.equal(await page.evaluate(() => localStorage.length), 0);
    assert.deepEqual(csp, [], `no policy violation or script error (answers refused: ${refused.join(', ') || 'none'})`);
    await context.close();
  });

  test('a tampered QR is refused with the reason in words', async () => {
    const bytes = f.qrBytes();
    bytes[13] ^= 1; // the code's last bit
    const { context, page } = await signIn(browser, f.url, f.policeKey);
    const seen = await scanPicture(page, await qrOf(bytes, 'tampered.png'));
    assert.equal(seen.verdict, 'refused');
    assert.equal(seen.reason, 'code_rejected');
    assert.match(seen.text, /wrong or has expired/);
    assert.ok(!seen.text.includes(NAME), 'nothing about the driver is shown');
    await context.close();
  });

  test('an expired QR (an old screenshot) is refused with the reason in words', async () => {
    const { context, page } = await signIn(browser, f.url, f.policeKey);
    const seen = await scanPicture(page, f.qrPng('old.png', { secondsAgo: 120 }));
    assert.equal(seen.reason, 'code_rejected');
    assert.match(seen.text, /a screenshot or photo of an old code is refused/);
    await context.close();
  });

  test('a business sees the qualification only, in the page and on the wire', async () => {
    const { context, page } = await signIn(browser, f.url, f.rentalKey);
    const bodies = [];
    page.on('response', async (r) => {
      if (r.url().startsWith(f.url)) bodies.push(r.body().then((b) => b.toString('utf8')));
    });
    // The driver shows the business QR (the police spent this window's enforcement code:
    // codes are single-use, D68); the server answers with the business view only.
    const seen = await scanPicture(page, f.qrPng('to-rental.png', { audience: 'business' }));
    assert.equal(seen.verdict, 'valid', seen.text);
    assert.match(seen.text, /Business view/);
    assert.ok(seen.text.includes('1101**********0001'));
    const dom = await page.content();
    const wire = (await Promise.all(bodies)).join('\n');
    assert.ok(wire.includes('"audience":"business"'), 'the answer was seen');
    for (const secret of [ADDRESS, NUMBER, '1990-03-07', '"record"', '"address"', '"date_of_birth"', '"supplementary"']) {
      assert.ok(!dom.includes(secret), `the DOM holds ${secret}`);
      assert.ok(!wire.includes(secret), `a response holds ${secret}`);
    }
    await context.close();
  });

  test('a typed licence number and manual code verify', async () => {
    const { context, page } = await signIn(browser, f.url, f.policeKey);
    await page.getByLabel('Licence number', { exact: true }).fill(NUMBER);
    await page.getByLabel('Manual code (7 digits)').fill(f.manualCode());
    await page.keyboard.press('Enter');
    const seen = await verdict(page);
    assert.equal(seen.verdict, 'valid', seen.text);
    // Focus moves to the verdict, which is announced.
    assert.equal(await page.evaluate(() => document.activeElement.id), 'result');
    assert.equal(await page.locator('#result').getAttribute('aria-live'), 'polite');
    await context.close();
  });

  test('a code another verifier already used is refused with the reason in words', async () => {
    // Two firms of their own, and the business manual code, which no other test spends:
    // codes are single use (D68), so the first firm's check spends it for everyone else.
    const firm = (name) => f.admin('add-verifier', '--name', name, '--class', 'insurer').api_key;
    const code = f.manualCode('business');
    const answers = [];
    for (const key of [firm('First insurer'), firm('Second insurer')]) {
      const { context, page } = await signIn(browser, f.url, key);
      await page.getByLabel('Licence number', { exact: true }).fill(NUMBER);
      await page.getByLabel('Manual code (7 digits)').fill(code);
      await page.keyboard.press('Enter');
      answers.push(await verdict(page));
      await context.close();
    }
    assert.equal(answers[0].verdict, 'valid', answers[0].text);
    const seen = answers[1];
    assert.equal(seen.verdict, 'refused', seen.text);
    assert.equal(seen.reason, 'already_used');
    assert.match(seen.text, /already used/);
    assert.ok(!seen.text.includes(NAME), 'nothing about the driver is shown');
  });

  test('the barcode digits verify', async () => {
    const { context, page } = await signIn(browser, f.url, f.policeKey);
    await page.getByLabel('The 32 digits under the barcode').fill(f.barcode());
    await page.keyboard.press('Enter');
    assert.equal((await verdict(page)).verdict, 'valid');
    await context.close();
  });

  test('after five wrong codes the verifier is locked out and told for how long', async () => {
    const { context, page } = await signIn(browser, f.url, f.otherRentalKey);
    await page.getByLabel('Licence number', { exact: true }).fill(NUMBER);
    const code = f.manualCode();
    const wrong = String((Number(code) + 1) % 10_000_000).padStart(7, '0');
    let seen;
    for (let i = 0; i < 6; i++) {
      await page.getByLabel('Manual code (7 digits)').fill(i < 5 ? wrong : code);
      await page.evaluate(() => document.getElementById('result').replaceChildren());
      await page.keyboard.press('Enter');
      seen = await verdict(page);
    }
    assert.equal(seen.reason, 'locked_out');
    assert.match(seen.text, /Try again in 1[45] min/);
    await context.close();
  });

  test('a wrong key is refused and the page asks to sign in again', async () => {
    const { context, page } = await signIn(browser, f.url, 'not-a-key');
    await page.getByLabel('Licence number', { exact: true }).fill(NUMBER);
    await page.getByLabel('Manual code (7 digits)').fill(f.manualCode());
    await page.keyboard.press('Enter');
    assert.equal((await verdict(page)).reason, 'unauthorized');
    await page.waitForSelector('#login:not([hidden])');
    assert.equal(await page.evaluate(() => sessionStorage.length), 0);
    await context.close();
  });

  test('a reloaded or duplicated page is signed out: the key is the page\'s alone', async () => {
    // D225: sessionStorage kept the key for a reloaded, duplicated or restored tab, and a
    // browser writes it to disk for its session restore.
    const { context, page } = await signIn(browser, f.url, f.rentalKey);
    assert.equal(await page.evaluate(() => sessionStorage.length), 0);
    await page.reload();
    await page.waitForSelector('#login:not([hidden])');
    await page.getByLabel(/Verifier API key/).fill(f.rentalKey);
    await page.keyboard.press('Enter');
    await page.waitForSelector('#check:not([hidden])');
    // A page it opens starts with a copy of its sessionStorage: nothing to copy.
    const [copy] = await Promise.all([
      context.waitForEvent('page'),
      page.evaluate(() => { window.open('/verify'); }),
    ]);
    await copy.waitForSelector('#login:not([hidden])');
    await context.close();
  });

  test('a page the browser kept and shows again (back and forward) is signed out', async () => {
    // D225's pagehide. Playwright's Chromium has the back-forward cache off, where going
    // back loads the page anew and the test could not fail (the review of D225, AQ-2): a
    // browser of its own keeps the cache, and the page says it was restored, not loaded.
    const cached = await launch([], { backForwardCache: true });
    try {
      const context = await cached.newContext({ locale: 'en-GB' });
      await context.addInitScript(() => {
        window.addEventListener('pageshow', (e) => { window.restoredFromCache = e.persisted; });
      });
      const page = await context.newPage();
      await page.goto(`${f.url}/verify`);
      await page.getByLabel(/Verifier API key/).fill(f.rentalKey);
      await page.keyboard.press('Enter');
      await page.waitForSelector('#check:not([hidden])');
      await page.goto(`${f.url}/healthz`);
      // A page restored from the cache fires no load event, only pageshow (persisted):
      // waiting for it fails here if the browser loaded the page anew instead.
      await page.goBack({ waitUntil: 'commit' });
      await page.waitForFunction(() => window.restoredFromCache === true, null, { timeout: 10_000 });
      assert.equal(await page.locator('#login').isHidden(), false, 'the sign-in form is shown');
      assert.equal(await page.locator('#check').isHidden(), true, 'the check form is hidden');
    } finally {
      await cached.close();
    }
  });

  test('a Chinese browser gets Chinese, and the toggle switches the verdict too', async () => {
    const { context, page } = await signIn(browser, f.url, f.policeKey, { locale: 'zh-CN' });
    assert.equal(await page.locator('h1').innerText(), '核验驾驶证');
    // A code of a window nobody has scanned yet: codes are single use (D68), and the
    // earlier tests spent the current and, under load, the previous window's. Windows
    // are 30 s from the epoch, so wait for the next one to begin.
    await new Promise((done) => setTimeout(done, 30_000 - (Date.now() % 30_000) + 300));
    const seen = await scanPicture(page, f.qrPng('zh.png'));
    assert.match(seen.text, /有效：驾驶证状态正常/);
    assert.match(seen.text, /住址/);
    await page.getByRole('button', { name: '切换到英文' }).click();
    assert.match(await page.locator('#result').innerText(), /Valid: the licence is in force/);
    assert.equal(await page.evaluate(() => document.documentElement.lang), 'en');
    await context.close();
  });

  test('a keyboard-only user signs in and verifies a manual code, with focus always visible', async () => {
    // The focused element, and whether its focus ring shows (an outline at least 2 px wide
    // in a colour, or, for the result, its coloured border).
    const focused = () => page.evaluate(() => {
      const e = document.activeElement;
      const s = getComputedStyle(e);
      const ring = s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) >= 2 && s.outlineColor !== 'rgba(0, 0, 0, 0)';
      // A form's submit button is named by its form.
      const id = e.id || (e.form && e.type === 'submit' ? `${e.form.id} submit` : e.tagName.toLowerCase());
      return { id, visible: ring || (e.id === 'result' && parseFloat(s.borderTopWidth) >= 3) };
    });
    const tab = async (expected) => {
      await page.keyboard.press('Tab');
      const now = await focused();
      assert.equal(now.id, expected, 'the Tab order');
      assert.ok(now.visible, `the focus on #${now.id} is visible`);
    };
    const context = await browser.newContext({ locale: 'en-GB', viewport: { width: 1100, height: 900 } });
    const page = await context.newPage();
    await page.goto(`${f.url}/verify`);
    // The language switch first, operable with Enter; then the key field and sign-in.
    await tab('lang');
    await page.keyboard.press('Enter');
    assert.equal(await page.locator('h1').innerText(), '核验驾驶证');
    await page.keyboard.press('Enter');
    assert.equal(await page.locator('h1').innerText(), 'Check a driving licence');
    await tab('api-key');
    await page.keyboard.type(f.policeKey);
    await tab('login-form submit');
    await page.keyboard.press('Enter');
    await page.waitForSelector('#check:not([hidden])');
    // Signed in, focus lands on the first way to check, and Tab walks the ways in the
    // order they are on screen: camera, picture, barcode digits, licence number and code.
    const after = await focused();
    assert.equal(after.id, 'start-camera');
    for (const id of ['qr-file', 'barcode', 'barcode-form submit', 'licence-number']) await tab(id);
    await page.keyboard.type(NUMBER);
    await tab('manual-code');
    await tab('manual-form submit');
    await page.keyboard.press('Shift+Tab');
    assert.equal((await focused()).id, 'manual-code', 'Shift+Tab goes back');
    // A code of a window nobody has used yet (codes are single use, D68).
    await new Promise((done) => setTimeout(done, 30_000 - (Date.now() % 30_000) + 300));
    await page.keyboard.type(f.manualCode());
    await page.keyboard.press('Enter');
    const seen = await verdict(page);
    assert.equal(seen.verdict, 'valid', seen.text);
    // Focus moved to the verdict, marked by its border; Tab goes on from there.
    assert.deepEqual(await focused(), { id: 'result', visible: true });
    await context.close();
  });

  test('on a phone the page fits the screen width', async () => {
    const { context, page } = await signIn(browser, f.url, f.rentalKey, { viewport: { width: 360, height: 740 } });
    await scanPicture(page, f.qrPng('phone.png'));
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    assert.ok(overflow <= 0, `no sideways scrolling (${overflow}px too wide)`);
    await context.close();
  });
});

// The camera path: Chromium's fake capture device plays a video made from the wallet's own
// online QR PNG. Its own authority and wallet, so no code is shared with (and spent by) the
// tests above (codes are single-use, D68).
describe('the verifier page with a camera', () => {
  let own;
  let camera;

  before(async () => {
    own = await startFixture();
    const video = qrPngToY4m(own.qrPng('camera.png'), join(own.dir, 'camera.y4m'));
    camera = await launch([
      '--use-fake-ui-for-media-stream',
      '--use-fake-device-for-media-stream',
      `--use-file-for-fake-video-capture=${video}`,
    ]);
  });

  after(async () => {
    await camera?.close();
    await own?.stop();
  });

  test('pointed at the driver\'s QR, the camera reads it and the verdict appears', async () => {
    const { context, page } = await signIn(camera, own.url, own.policeKey);
    await context.grantPermissions(['camera'], { origin: own.url });
    const sent = [];
    page.on('request', (r) => sent.push(r.url()));
    await page.click('#start-camera');
    const seen = await verdict(page);
    assert.equal(seen.verdict, 'valid', seen.text);
    assert.match(seen.text, /Valid: the licence is in force/);
    assert.ok(seen.text.includes(NUMBER), 'police see the full number');
    assert.ok(sent.some((u) => u.endsWith('/v1/verify')), 'the code read by the camera went to the authority');
    // The camera stops once a code is read: no stream left open.
    assert.ok(await page.locator('#camera-box').isHidden());
    assert.ok(await page.locator('#start-camera').isVisible());
    await context.close();
  });
});

// A counter PC shared by the clerks of a rental firm (D147): after "Sign out" the next
// person at the browser finds nothing of the last check, neither on the page nor in the
// browser's cache. Its own authority and driver, so its code is spent by no other test.
describe('the verifier page after sign-out', () => {
  let own;

  before(async () => {
    own = await startFixture();
  });

  after(async () => {
    await own?.stop();
  });

  test('signing out leaves no trace of the last driver on the page or in the browser cache', async () => {
    const context = await browser.newContext({ locale: 'en-GB', viewport: { width: 1100, height: 900 } });
    // Records the cache mode of each of the page's own fetches (the script's requests).
    await context.addInitScript(() => {
      const fetch = window.fetch;
      window.__fetches = [];
      window.fetch = (input, init = {}) => {
        window.__fetches.push({ url: String(input), cache: init.cache ?? 'default' });
        return fetch(input, init);
      };
    });
    const page = await context.newPage();
    await page.goto(`${own.url}/verify`);
    await page.getByLabel('Verifier API key').fill(own.rentalKey);
    await page.keyboard.press('Enter');
    await page.waitForSelector('#check:not([hidden])');
    await page.getByLabel('Licence number', { exact: true }).fill(NUMBER);
    await page.getByLabel('Manual code (7 digits)').fill(own.manualCode('business'));
    await page.keyboard.press('Enter');
    const seen = await verdict(page);
    assert.equal(seen.verdict, 'valid', seen.text);
    assert.ok(seen.text.includes(NAME), 'the clerk sees who it is');
    const blob = await page.locator('#result img.photo').getAttribute('src');
    assert.match(blob, /^blob:/);
    const photoUrl = await page.evaluate(() => window.__fetches.find((f) => f.url.startsWith('/v1/photos/'))?.url);
    assert.match(photoUrl, /^\/v1\/photos\/[0-9a-f]{64}$/);

    await page.click('#sign-out');
    await page.waitForSelector('#login:not([hidden])');
    const left = await page.evaluate(async ({ photoUrl, blob, key }) => {
      const result = document.getElementById('result');
      // What the browser's HTTP cache holds for the photo, with or without the key.
      const cached = (headers) => fetch(photoUrl, { cache: 'only-if-cached', mode: 'same-origin', headers, credentials: 'omit' })
        .then((r) => r.status, () => 'not cached');
      return {
        photoFetchedWith: window.__fetches.find((f) => f.url === photoUrl)?.cache,
        resultHidden: result.hidden,
        resultText: result.textContent,
        images: document.querySelectorAll('img').length,
        blobUrlsInPage: document.documentElement.outerHTML.includes('blob:'),
        // The policy lets no script fetch a blob: URL, but an image may still show one.
        blobStillShows: await new Promise((done) => {
          const img = new Image();
          img.onload = () => done(true);
          img.onerror = () => done(false);
          img.src = blob;
        }),
        typed: ['licence-number', 'manual-code', 'barcode'].map((id) => document.getElementById(id).value).join(''),
        cachedWithoutKey: await cached({}),
        cachedWithKey: await cached({ 'X-EDL-Api-Key': key }),
        askedWithoutKey: (await fetch(photoUrl)).status,
        sessionStorage: sessionStorage.length,
      };
    }, { photoUrl, blob, key: own.rentalKey });
    assert.deepEqual(left, {
      photoFetchedWith: 'no-store',
      resultHidden: true,
      resultText: '',
      images: 0,
      blobUrlsInPage: false,
      blobStillShows: false,
      typed: '',
      cachedWithoutKey: 'not cached',
      cachedWithKey: 'not cached',
      askedWithoutKey: 401,
      sessionStorage: 0,
    });
    const dom = await page.content();
    for (const text of [NAME, '1101**********0001', photoUrl.slice('/v1/photos/'.length)]) {
      assert.ok(!dom.includes(text), `the page still holds ${text}`);
    }
    await context.close();
  });
});

// A licence the registry has suspended (status D, 暂扣): the code is good, but the page says
// the licence is not in force and why, in words. Its own authority and driver, so the
// suspension touches no other test.
describe('the verifier page for a suspended licence', () => {
  let own;

  before(async () => {
    own = await startFixture();
    own.admin('status', String(own.driver), 'D');
  });

  after(async () => {
    await own?.stop();
  });

  test('a good code of a suspended licence shows "not in force" and the reason, in English and Chinese', async () => {
    const { context, page } = await signIn(browser, own.url, own.rentalKey);
    await page.getByLabel('Licence number', { exact: true }).fill(NUMBER);
    await page.getByLabel('Manual code (7 digits)').fill(own.manualCode('business'));
    await page.keyboard.press('Enter');
    const seen = await verdict(page);
    assert.equal(seen.verdict, 'not_in_force', seen.text);
    assert.equal(seen.reason, 'suspended');
    assert.match(seen.text, /Not in force: do not accept/);
    assert.match(seen.text, /Suspended \(D\)/);
    // The Status field in words too, as the server names it: not a bare letter.
    assert.equal(await page.locator('dd[data-field="status"]').innerText(), 'Suspended (D)');
    assert.doesNotMatch(seen.text, /Valid: the licence is in force/);
    assert.match(await page.locator('#result').getAttribute('class'), /invalid/);
    // Still the business view: the clerk sees who it is, not the address or record.
    assert.match(seen.text, /Business view/);
    assert.ok(!seen.text.includes(ADDRESS));
    await page.getByRole('button', { name: 'Switch to Chinese' }).click();
    const zh = await page.locator('#result').innerText();
    assert.match(zh, /无效：请勿接受/);
    assert.match(zh, /暂扣（D）/);
    assert.equal(await page.locator('dd[data-field="status"]').innerText(), '暂扣（D）');
    await context.close();
  });
});

/**
 * Another program holding the authority's SQLite file's write lock, as an operator's
 * `sqlite3` shell left inside a transaction would (Python's sqlite3, a real second process),
 * until `release()`.
 */
async function holdDatabase(file) {
  const script = [
    'import sqlite3, sys',
    'c = sqlite3.connect(sys.argv[1], isolation_level=None)',
    "c.execute('BEGIN IMMEDIATE')",
    "print('held', flush=True)",
    'sys.stdin.read()',
    "c.execute('ROLLBACK')",
  ].join('\n');
  const holder = spawn('python3', ['-c', script, file], { stdio: ['pipe', 'pipe', 'inherit'] });
  const exited = new Promise((ok) => holder.on('exit', ok));
  await new Promise((ok, fail) => {
    holder.stdout.once('data', ok);
    exited.then((code) => fail(new Error(`the lock holder exited (${code}) before holding`)));
  });
  return {
    async release() {
      holder.stdin.end();
      await exited;
    },
  };
}

// The authority cannot write for a moment (here: another program holds its database file):
// the clerk is told that this is no verdict on the code and when to try again, not that the
// authority is restarting (twelfth review, S-F5); and the code, never claimed, verifies once
// the database is free (T-F1). Its own authority, so the held file touches no other test.
describe('the verifier page while the authority cannot write', () => {
  let own;

  before(async () => {
    own = await startFixture();
  });

  after(async () => {
    await own?.stop();
  });

  test('the page says it is no verdict and when to try again, and the same code then verifies', async () => {
    const { context, page } = await signIn(browser, own.url, own.policeKey);
    const png = own.qrPng('held.png');
    const lock = await holdDatabase(join(own.dir, 'authority.db'));
    let seen;
    try {
      seen = await scanPicture(page, png);
    } finally {
      await lock.release();
    }
    assert.equal(seen.verdict, 'refused', seen.text);
    assert.equal(seen.reason, 'unavailable');
    assert.match(seen.text, /not a verdict on it\. Try again in 2 s\./);
    assert.doesNotMatch(seen.text, /restarting/);
    await page.getByRole('button', { name: 'Switch to Chinese' }).click();
    assert.match(await page.locator('#result').innerText(), /这不是核验结论。请在 2 秒 后重试/);
    await page.getByRole('button', { name: '切换到英文' }).click();
    await page.evaluate(() => document.getElementById('result').replaceChildren());
    const again = await scanPicture(page, png);
    assert.equal(again.verdict, 'valid', again.text);
    await context.close();
  });
});
