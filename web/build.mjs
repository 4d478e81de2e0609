// Bundles the app with esbuild into --outdir: launch.html, index.html, app.js, app.css.
// No CDN and no inline script or style, so the server's strict Content-Security-Policy holds.
//   node build.mjs --outdir <dir>
import { build } from 'esbuild';
import { copyFile, mkdir } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const at = process.argv.indexOf('--outdir');
const outdir = path.resolve(at > 0 ? process.argv[at + 1] : path.join(here, 'dist'));
await mkdir(outdir, { recursive: true });

await build({
  entryPoints: [path.join(here, 'src/app.js')],
  outfile: path.join(outdir, 'app.js'),
  bundle: true,
  format: 'esm',
  platform: 'browser',
  target: ['es2020', 'chrome100', 'firefox100', 'safari15'],
  minify: true,
  legalComments: 'eof',
  // fhirclient's "pure" build: modern browsers need no fetch or AbortController polyfill.
  define: { FHIRCLIENT_PURE: 'true', 'process.env.NODE_ENV': '"production"' },
  logLevel: 'warning',
});
await build({
  entryPoints: [path.join(here, 'src/app.css')],
  outfile: path.join(outdir, 'app.css'),
  bundle: true,
  minify: true,
  logLevel: 'warning',
});
for (const page of ['launch.html', 'index.html']) {
  await copyFile(path.join(here, 'src', page), path.join(outdir, page));
}
console.log(`collabcare web: built ${outdir}`);
