// A real authority on loopback with one driver who holds an e-licence and two verifiers
// (police and a rental firm), set up with the `edl` command line as a registry clerk and a
// driver would (see cli/tests/user_flow.rs). Used by the browser tests and the screenshots.

import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

// Not import.meta.dirname: Debian 12's node (18) lacks it.
const HERE = fileURLToPath(new URL('.', import.meta.url));

const REPO = resolve(HERE, '../../..');
/** The `edl` binary: EDL_BIN, else the debug build of the workspace. */
const EDL = process.env.EDL_BIN || join(REPO, 'target/debug/edl');
const PHOTOS = join(REPO, 'core/tests/photos');

/** The driver's licence number and address (the address only police may see). */
export const NUMBER = '110101199003070001';
export const ADDRESS = '北京市东城区东华门街道正义路2号';
export const NAME = '张伟';

const ENV = {
  ...process.env,
  EDL_ADMIN_TOKEN: 'web-test-admin-token',
  EDL_IDENTITY_SECRET: 'web test identity secret',
  EDL_PASSPHRASE: 'web test wallet passphrase',
};

/** Starts the authority and sets up the driver, the wallet and the verifiers. */
export async function startFixture() {
  const dir = mkdtempSync(join(tmpdir(), 'edl-web-'));
  const server = spawn(EDL, ['authority', 'serve', '--db', join(dir, 'authority.db'), '--listen', '127.0.0.1:0'], {
    env: ENV,
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  const url = await new Promise((ok, fail) => {
    const lines = createInterface({ input: server.stderr });
    lines.on('line', (line) => {
      const m = /^edl authority listening on (\S+)/.exec(line);
      if (m) ok(m[1]);
    });
    server.on('exit', (code) => fail(new Error(`the authority exited (${code}) before listening`)));
  });
  try {
    return await setUp(url, dir, server);
  } catch (e) {
    server.kill();
    throw e;
  }
}

async function setUp(url, dir, server) {
  const edl = (...args) => execFileSync(EDL, args, { env: ENV, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  const admin = (...args) => JSON.parse(edl('authority', 'admin', '--authority', url, ...args));
  const wallet = join(dir, 'wallet');
  const w = (...args) => edl('wallet', '--dir', wallet, ...args);

  const { driver_id: driver } = admin(
    'add-driver', '--licence', NUMBER, '--name', NAME, '--sex', 'male', '--dob', '1990-03-07',
    '--classes', 'C1', '--first-issue', '2012-03-07', '--valid-from', '2018-03-07',
    '--valid-until', '2028-03-07', '--address', ADDRESS, '--issued-by', '北京市公安局公安交通管理局',
  );
  const { code } = admin('activation-code', String(driver));
  w('enrol', '--authority', url, '--licence', NUMBER, '--code', code);
  w('apply');
  // The photo id is a 64-bit number, beyond a JSON number's exact range in JavaScript:
  // taken from the text `submitted <id> …`, as cli/tests/user_flow.rs does.
  const photo = w('photo', 'submit', join(PHOTOS, 'clean.jpg')).split(/\s+/)[1];
  admin('review', 'approve', photo);
  w('sync');
  const key = (name, cls) => admin('add-verifier', '--name', name, '--class', cls).api_key;

  return {
    url,
    dir,
    driver,
    policeKey: key('Traffic police', 'enforcement'),
    rentalKey: key('Car rental', 'rental'),
    /** Another rental firm, for the lock-out (it locks only itself out). */
    otherRentalKey: key('Another rental', 'rental'),
    /** Writes the online QR for `audience` as a PNG; `secondsAgo` as an old screenshot. */
    qrPng(name, { audience = 'enforcement', secondsAgo = 0 } = {}) {
      const file = join(dir, name);
      w('qr', '--audience', audience, '--png', file, '--seconds-ago', String(secondsAgo));
      return file;
    },
    /** The online QR payload bytes for `audience`. */
    qrBytes(audience = 'enforcement') {
      const text = w('qr', '--audience', audience).trim();
      return Buffer.from(text.replace(/^EDL:/, ''), 'base64url');
    },
    /** The manual code for `audience`. */
    manualCode(audience = 'enforcement') {
      return w('code', '--audience', audience).trim();
    },
    /** The 32 barcode digits for `audience`. */
    barcode(audience = 'enforcement') {
      return w('barcode', '--audience', audience, '--png', join(dir, 'barcode.png')).trim();
    },
    /** A registry call (admin token). */
    admin,
    async stop() {
      server.kill();
      await new Promise((ok) => (server.exitCode === null ? server.on('exit', ok) : ok()));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
