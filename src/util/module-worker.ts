/**
 * A worker thread running one of Tether's own modules. The built code (dist/) has the `.js`
 * beside the caller; run from the TypeScript sources (vitest) there is only the `.ts`: the
 * worker then compiles the sources as it requires them with esbuild, which vitest itself
 * depends on (a dev-only path).
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { Worker } from 'node:worker_threads';

/** Registers a `.ts` loader in the worker, then requires the entry (workerData.entry). */
const TS_BOOTSTRAP = `
const { workerData } = require('node:worker_threads');
const fs = require('node:fs');
const { transformSync } = require('node:module').createRequire(workerData.entry)('esbuild');
require.extensions['.ts'] = (module, filename) => {
  const source = fs.readFileSync(filename, 'utf8');
  const { code } = transformSync(source, { loader: 'ts', format: 'cjs', target: 'node20', sourcefile: filename, sourcemap: 'inline' });
  module._compile(code, filename);
};
require(workerData.entry);
`;

/**
 * Starts `<dir>/<name>.js`, else `<dir>/<name>.ts` through esbuild. `input` reaches the module
 * as `workerData.input`.
 */
export function startModuleWorker(dir: string, name: string, input?: unknown): Worker {
  const js = path.join(dir, `${name}.js`);
  if (existsSync(js)) return new Worker(js, { workerData: { input } });
  return new Worker(TS_BOOTSTRAP, { eval: true, workerData: { entry: path.join(dir, `${name}.ts`), input } });
}
