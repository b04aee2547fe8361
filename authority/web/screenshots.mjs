// Regenerates screenshots/*.png: the verifier page as police and a rental clerk see it,
// on a desktop and a phone, in English and Chinese, against a real authority on loopback.
// Run `EDL_BIN=target/debug/edl node authority/web/screenshots.mjs` after a cargo build;
// Chinese text needs a CJK font (Debian: fonts-wqy-microhei). Names after the script
// (e.g. `node screenshots.mjs not-in-force`) regenerate only those shots.

import { join } from 'node:path';
import { startFixture, NUMBER } from './test/fixture.mjs';
import { launch, signIn } from './test/browser.mjs';
import { fileURLToPath } from 'node:url';

// Not import.meta.dirname: Debian 12's node (18) lacks it.
const HERE = fileURLToPath(new URL('.', import.meta.url));

const out = (name) => join(HERE, 'screenshots', name);
const only = process.argv.slice(2);
/** Whether to take the shot `name` (every shot when none is named). */
const want = (name) => only.length === 0 || only.includes(name);
const f = await startFixture();
const browser = await launch();
try {
  const phone = { width: 390, height: 844 };
  const desktop = { width: 1100, height: 900 };

  // The sign-in screen.
  if (want('sign-in')) {
    const { context, page } = await signIn(browser, f.url, null, { viewport: { width: 1100, height: 420 } });
    await page.screenshot({ path: out('sign-in.png') });
    await context.close();
  }
  // Police, desktop, English: a good QR shows both pages.
  if (want('enforcement-view')) {
    const { context, page } = await signIn(browser, f.url, f.policeKey, { viewport: desktop });
    await page.setInputFiles('#qr-file', f.qrPng('good.png'));
    await page.locator('#verdict').waitFor();
    await page.screenshot({ path: out('enforcement-view.png'), fullPage: true });
    await context.close();
  }
  // A rental clerk on a phone, Chinese: the qualification only.
  if (want('business-view-phone-zh')) {
    const { context, page } = await signIn(browser, f.url, f.rentalKey, { viewport: phone, locale: 'zh-CN' });
    await page.setInputFiles('#qr-file', f.qrPng('rental.png', { audience: 'business' }));
    await page.locator('#verdict').waitFor();
    await page.locator('#result').scrollIntoViewIfNeeded();
    await page.locator('#result').screenshot({ path: out('business-view-phone-zh.png') });
    await context.close();
  }
  // A rental clerk, desktop, English: good verdict.
  if (want('business-view')) {
    const { context, page } = await signIn(browser, f.url, f.rentalKey, { viewport: desktop });
    await page.getByLabel('Licence number', { exact: true }).fill(NUMBER);
    await page.getByLabel('Manual code (7 digits)').fill(f.manualCode('business'));
    await page.keyboard.press('Enter');
    await page.locator('#verdict').waitFor();
    await page.screenshot({ path: out('business-view.png'), fullPage: true });
    await context.close();
  }
  // A refusal: an old screenshot of the QR.
  if (want('refusal-phone')) {
    const { context, page } = await signIn(browser, f.url, f.policeKey, { viewport: phone });
    await page.setInputFiles('#qr-file', f.qrPng('old.png', { secondsAgo: 120 }));
    await page.locator('#verdict').waitFor();
    await page.screenshot({ path: out('refusal-phone.png'), fullPage: true });
    await context.close();
  }
  // A licence the registry suspended (status D), last: the suspension stays. A rental
  // clerk on a phone, Chinese: the code is good, the licence is not in force, and why.
  if (want('not-in-force-phone-zh')) {
    f.admin('status', String(f.driver), 'D');
    // The rental shot above spent this window's business code (codes are single use,
    // D68): wait for the next 30 s window when it ran.
    if (want('business-view')) await new Promise((done) => setTimeout(done, 30_000 - (Date.now() % 30_000) + 300));
    const { context, page } = await signIn(browser, f.url, f.rentalKey, { viewport: phone, locale: 'zh-CN' });
    await page.getByLabel('驾驶证号', { exact: true }).fill(NUMBER);
    await page.getByLabel('手动核验码（7 位数字）').fill(f.manualCode('business'));
    await page.keyboard.press('Enter');
    await page.locator('#verdict[data-verdict=not_in_force]').waitFor();
    await page.locator('#result').scrollIntoViewIfNeeded();
    await page.locator('#result').screenshot({ path: out('not-in-force-phone-zh.png') });
    await context.close();
  }
  console.log('screenshots written to authority/web/screenshots/');
} finally {
  await browser.close();
  await f.stop();
}
