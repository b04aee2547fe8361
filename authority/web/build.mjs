// Bundles src/ (with jsQR from npm) into dist/verify.js, the one script the authority
// embeds and serves at /verify/assets/verify.js. The bundle is committed so the server
// builds without npm; `node build.mjs --check` fails when it differs from a fresh build
// (run by test.sh, so CI catches a source change whose bundle was not rebuilt).

import { build } from 'esbuild';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

// Not import.meta.dirname: Debian 12's node (18) lacks it.
const HERE = fileURLToPath(new URL('.', import.meta.url));

const out = join(HERE, 'dist/verify.js');
const result = await build({
  entryPoints: [join(HERE, 'src/main.js')],
  bundle: true,
  format: 'iife',
  target: ['es2020'],
  minify: true,
  legalComments: 'eof',
  charset: 'utf8',
  write: false,
});
const fresh = result.outputFiles[0].text;
if (process.argv.includes('--check')) {
  const committed = readFileSync(out, 'utf8');
  if (committed !== fresh) {
    console.error('authority/web/dist/verify.js is not the build of src/: run `npm run build` in authority/web and commit it');
    process.exit(1);
  }
  console.log('dist/verify.js matches a fresh build');
} else {
  writeFileSync(out, fresh);
  console.log(`wrote dist/verify.js (${fresh.length} bytes)`);
}
