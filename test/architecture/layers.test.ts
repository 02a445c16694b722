/**
 * The README's layers, enforced: dependency-cruiser checks src/ against .dependency-cruiser.cjs
 * (which folder may import which). Part of `npm test`, so CI (.ci/run) fails on an inversion.
 * The second test feeds the same rules a small tree with known-bad imports, so the rule is shown
 * to fail, not only to pass: inverted imports, and an import cycle inside one folder.
 */
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';

const ROOT = path.resolve(__dirname, '../..');
const CONFIG = path.join(ROOT, '.dependency-cruiser.cjs');
const CLI = path.join(ROOT, 'node_modules/dependency-cruiser/bin/dependency-cruise.mjs');

interface Violation {
  from: string;
  to: string;
  rule: { name: string };
  /** For a no-circular violation: the rest of the cycle, back to `from`. */
  cycle?: Array<{ name: string }>;
}

async function cruise(cwd: string): Promise<Violation[]> {
  // Exit code 1 is "violations found"; the JSON report is on stdout either way.
  const run = await promisify(execFile)(process.execPath, [CLI, 'src', '--config', CONFIG, '--output-type', 'json'], {
    cwd,
    maxBuffer: 256 * 1024 * 1024,
    timeout: 120_000,
  }).catch((err: { stdout?: string; stderr?: string; code?: number }) => {
    if (err.code !== 1 || !err.stdout) throw new Error(`dependency-cruiser failed: ${err.stderr ?? String(err)}`);
    return { stdout: err.stdout };
  });
  const report = JSON.parse(run.stdout) as { summary: { violations: Violation[] } };
  return report.summary.violations;
}

const format = (v: Violation): string =>
  v.cycle ? `${v.rule.name}: ${[v.from, ...v.cycle.map((c) => c.name)].join(' → ')}` : `${v.rule.name}: ${v.from} → ${v.to}`;

describe('layers (.dependency-cruiser.cjs)', () => {
  const dirs: string[] = [];
  afterAll(() => {
    for (const dir of dirs) fs.rmSync(dir, { recursive: true, force: true });
  });

  it('src/ imports only along the README diagram', async () => {
    const violations = await cruise(ROOT);
    expect(violations.map(format)).toEqual([]);
  }, 120_000);

  it('fails on inverted imports (a known-bad tree)', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tether-layers-'));
    dirs.push(dir);
    const files: Record<string, string> = {
      'tsconfig.json': JSON.stringify({ compilerOptions: { module: 'commonjs', moduleResolution: 'node', strict: true } }),
      'src/translate/types.ts': 'export type NodeKind = string;\n',
      // cache/ may not import translate/ (node kinds live in model/).
      'src/cache/snapshot.ts': "import type { NodeKind } from '../translate/types';\nexport const k: NodeKind = 'envoy';\n",
      'src/extproc/policy.ts': 'export const checkPolicy = (): void => undefined;\n',
      'src/extproc/service.ts': "import { checkPolicy } from './policy';\nexport const s = checkPolicy;\n",
      // The one exception: config/ext-proc-schema.ts may use extproc's checker...
      'src/config/ext-proc-schema.ts': "import { checkPolicy } from '../extproc/policy';\nexport const c = checkPolicy;\n",
      // ...but no other config/ module, and not the rest of extproc/.
      'src/config/normalize.ts': "import { checkPolicy } from '../extproc/policy';\nimport { s } from '../extproc/service';\nexport const n = [checkPolicy, s];\n",
      // A lower floor importing an upper one.
      'src/control/publisher.ts': 'export const p = 1;\n',
      'src/model/types.ts': "import { p } from '../control/publisher';\nexport const m = p;\n",
      // A cycle inside one folder (layers allow any import within a folder), through a third
      // module and for types only: still a cycle.
      'src/xds/stream-a.ts': "import type { B } from './stream-b';\nexport interface A { b?: B }\n",
      'src/xds/stream-b.ts': "import type { C } from './stream-c';\nexport interface B { c?: C }\n",
      'src/xds/stream-c.ts': "import type { A } from './stream-a';\nexport interface C { a?: A }\n",
      'src/xds/leaf.ts': "import type { A } from './stream-a';\nexport const leaf: A = {};\n",
      // Explain is read through its index only.
      'src/explain/what-if-sampling.ts': 'export const runSampleJob = (): void => undefined;\n',
      'src/explain/index.ts': "export { runSampleJob } from './what-if-sampling';\n",
      'src/compute/jobs.ts': "import { runSampleJob } from '../explain';\nimport { runSampleJob as direct } from '../explain/what-if-sampling';\nexport const j = [runSampleJob, direct];\n",
    };
    for (const [file, text] of Object.entries(files)) {
      fs.mkdirSync(path.dirname(path.join(dir, file)), { recursive: true });
      fs.writeFileSync(path.join(dir, file), text);
    }
    const found = (await cruise(dir)).map(format).sort();
    expect(found).toEqual(
      [
        'layer-cache: src/cache/snapshot.ts → src/translate/types.ts',
        'layer-config: src/config/normalize.ts → src/extproc/service.ts',
        'layer-exception-scope: src/config/normalize.ts → src/extproc/policy.ts',
        'layer-model: src/model/types.ts → src/control/publisher.ts',
        // The cycle, once, in full; leaf.ts, which only imports a module of it, is not part of it.
        'no-circular: src/xds/stream-a.ts → src/xds/stream-b.ts → src/xds/stream-c.ts → src/xds/stream-a.ts',
        'explain-through-index: src/compute/jobs.ts → src/explain/what-if-sampling.ts',
      ].sort(),
    );
  }, 120_000);
});
