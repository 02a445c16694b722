// Bundles the web console (src/console/web, Preact) into dist/console: app.js, app.css and
// index.html, served by `tether serve` under /console/. Everything the page loads comes from
// there (no CDN). scripts/setup.sh runs this when its inputs change.
import { build } from 'esbuild';
import { copyFileSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const out = join(root, 'dist', 'console');
mkdirSync(out, { recursive: true });
await build({
  entryPoints: { app: join(root, 'src/console/web/main.tsx') },
  outdir: out,
  bundle: true,
  minify: true,
  format: 'iife',
  target: ['chrome110', 'firefox110', 'safari16'],
  jsx: 'automatic',
  jsxImportSource: 'preact',
  legalComments: 'none',
  logLevel: 'warning',
});
copyFileSync(join(root, 'src/console/web/index.html'), join(out, 'index.html'));
