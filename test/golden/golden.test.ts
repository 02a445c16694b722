/**
 * Golden tests: one folder per case with a Tether config (`input.yaml`), optional resolved
 * endpoints (`endpoints.yaml`: backend → [{ip, port, weight?, hostname?}]; without it, the
 * config's IP-literal endpoints), and the expected resources for each kind of node
 * (`envoy.yaml`, `grpc.yaml`), exactly as they go on the wire: every resource is encoded
 * through the real proto and decoded back, Any values unpacked with an '@type' key.
 *
 * Regenerate with `npm run golden` (vitest -u) and review the diff. With CI=true a missing or
 * stale expected file fails. Files other than those four fail too: delete them.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml, stringify } from 'yaml';
import { parseConfigText } from '../../src/config';
import type { TetherConfig } from '../../src/model/types';
import { NODE_KINDS, staticEndpoints, toReadable, translateWithWarnings } from '../../src/translate';
import type { NodeKind, ResolvedEndpoint, ResolvedEndpoints } from '../../src/translate';
import { grpcXdsErrors } from '../translate/grpc-xds-validator';

const ROOT = __dirname;
const INPUTS = ['input.yaml', 'endpoints.yaml'];
const OUTPUTS = NODE_KINDS.map((kind) => `${kind}.yaml`);
const ALLOWED = new Set([...INPUTS, ...OUTPUTS]);

const cases = fs
  .readdirSync(ROOT, { withFileTypes: true })
  .filter((d) => d.isDirectory())
  .map((d) => d.name)
  .sort();

function loadConfig(dir: string): TetherConfig {
  const file = path.join(dir, 'input.yaml');
  const result = parseConfigText(fs.readFileSync(file, 'utf8'), file);
  if (!result.ok) throw new Error(`${file} is invalid:\n${result.errors.map((e) => `  ${e.path}: ${e.message}`).join('\n')}`);
  return result.config;
}

function loadEndpoints(dir: string, config: TetherConfig): ResolvedEndpoints {
  const file = path.join(dir, 'endpoints.yaml');
  if (!fs.existsSync(file)) return staticEndpoints(config);
  const raw = (parseYaml(fs.readFileSync(file, 'utf8')) ?? {}) as Record<string, Array<Partial<ResolvedEndpoint>> | null>;
  const out = new Map<string, ResolvedEndpoint[]>();
  for (const [backend, list] of Object.entries(raw)) {
    out.set(
      backend,
      (list ?? []).map((e, i) => {
        if (typeof e.ip !== 'string' || typeof e.port !== 'number') throw new Error(`${file}: ${backend}[${i}] needs ip and port`);
        return { ip: e.ip, port: e.port, weight: e.weight ?? 1, ...(e.hostname !== undefined ? { hostname: e.hostname } : {}) };
      }),
    );
  }
  return out;
}

function render(config: TetherConfig, endpoints: ResolvedEndpoints, kind: NodeKind): string {
  const { resources, warnings } = translateWithWarnings(config, endpoints, kind);
  const body = { ...toReadable(resources), ...(warnings.length > 0 ? { warnings } : {}) };
  const header = `# Expected ${kind} resources for input.yaml. Generated: npm run golden (then review the diff).\n`;
  return header + stringify(body, { lineWidth: 0 });
}

describe('golden cases', () => {
  it('exist', () => {
    expect(cases.length).toBeGreaterThan(0);
  });

  it.each(cases)('%s holds input.yaml and nothing unexpected', (name) => {
    const files = fs.readdirSync(path.join(ROOT, name));
    expect(files, `${name}/ needs an input.yaml`).toContain('input.yaml');
    const unexpected = files.filter((f) => !ALLOWED.has(f));
    expect(unexpected, `stale or unknown files in test/golden/${name}/ (delete them)`).toEqual([]);
  });

  describe.each(cases)('%s', (name) => {
    const dir = path.join(ROOT, name);
    it.each(NODE_KINDS)('%s', async (kind) => {
      const config = loadConfig(dir);
      await expect(render(config, loadEndpoints(dir, config), kind)).toMatchFileSnapshot(path.join(dir, `${kind}.yaml`));
    });

    it('is accepted by grpc-js-xds (gRPC flavour)', () => {
      const config = loadConfig(dir);
      expect(grpcXdsErrors(translateWithWarnings(config, loadEndpoints(dir, config), 'grpc').resources)).toEqual([]);
    });
  });
});
