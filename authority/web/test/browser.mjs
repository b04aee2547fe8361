// Debian's Chromium driven by playwright-core (no browser download): CHROMIUM overrides
// the path.

import { chromium } from 'playwright-core';

/**
 * Launches headless Chromium, with `extraArgs` (e.g. a fake camera). Playwright turns the
 * back-forward cache off by default; `backForwardCache` keeps it, as a user's browser has it.
 */
export function launch(extraArgs = [], { backForwardCache = false } = {}) {
  return chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    headless: true,
    // Containers and CI run as root, where Chromium's sandbox cannot start.
    args: ['--no-sandbox', ...extraArgs],
    ignoreDefaultArgs: backForwardCache ? ['--disable-back-forward-cache'] : [],
  });
}

/** Opens the page in a fresh context (its own sessionStorage) and signs in with `key`. */
export async function signIn(browser, url, key, { locale = 'en-GB', viewport = { width: 1100, height: 900 } } = {}) {
  const context = await browser.newContext({ locale, viewport });
  const page = await context.newPage();
  await page.goto(`${url}/verify`);
  if (key) {
    await page.getByLabel(/Verifier API key|核验方 API 密钥/).fill(key);
    await page.keyboard.press('Enter');
    await page.waitForSelector('#check:not([hidden])');
  }
  return { context, page };
}
