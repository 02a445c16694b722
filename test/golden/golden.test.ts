/**
 * Golden tests: one folder per case with a Tether config (`input.yaml`), optional resolved
 * endpoints (`endpoints.yaml`: backend → [{ip, port, weight?, hostname?}]; without it, the
 * config's IP-literal endpoints), and the expected resources for each kind of node
 * (`envoy.yaml`, `grpc.yaml`), exactly as they go on the wire: every resource is encoded
 * through the real proto and decoded back, Any values unpacked with an '@type' key. Older
 * Envoy API levels (`envoy-1.35.yaml`, `envoy-pre-1.35.yaml`; src/model/node-targets.ts) have a
 * file only where their output differs from envoy.yaml's.
 *
 * Regenerate with `npm run golden` (vitest -u) and review the diff. With CI=true a missing or
 * stale expected file fails. Files other than those fail too: delete them.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml, stringify } from 'yaml';
import { parseConfigText } from '../../src/config';
import type { TetherConfig } from '../../src/model/types';
import { NODE_KINDS, NODE_TARGETS, staticEndpoints, toReadable, translateWithWarnings } from '../../src/translate';
import type { NodeTarget, ResolvedEndpoint, ResolvedEndpoints } from '../../src/translate';
import { grpcXdsErrors } from '../translate/grpc-xds-validator';

const ROOT = __dirname;
const INPUTS = ['input.yaml', 'endpoints.yaml'];
const OUTPUTS = NODE_TARGETS.map((target) => `${target}.yaml`);
/** Older Envoy levels: a file only when their output differs from envoy.yaml's. */
const LEVELS = NODE_TARGETS.filter((t) => !(NODE_KINDS as readonly string[]).includes(t));
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

function renderBody(config: TetherConfig, endpoints: ResolvedEndpoints, target: NodeTarget): string {
  const { resources, warnings } = translateWithWarnings(config, endpoints, target);
  return stringify({ ...toReadable(resources), ...(warnings.length > 0 ? { warnings } : {}) }, { lineWidth: 0 });
}

function render(config: TetherConfig, endpoints: ResolvedEndpoints, target: NodeTarget): string {
  const header = `# Expected ${target} resources for input.yaml. Generated: npm run golden (then review the diff).\n`;
  return header + renderBody(config, endpoints, target);
}

/** `vitest -u` (npm run golden): stale level files are deleted instead of failing. */
function updating(): boolean {
  const state = expect.getState().snapshotState as unknown as { _updateSnapshot?: string } | undefined;
  return state?._updateSnapshot === 'all';
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

    it.each(LEVELS)('%s (only where it differs from envoy)', async (level) => {
      const config = loadConfig(dir);
      const endpoints = loadEndpoints(dir, config);
      const file = path.join(dir, `${level}.yaml`);
      if (renderBody(config, endpoints, level) !== renderBody(config, endpoints, 'envoy')) {
        await expect(render(config, endpoints, level)).toMatchFileSnapshot(file);
      } else if (fs.existsSync(file)) {
        if (!updating()) expect.fail(`test/golden/${name}/${level}.yaml is stale: ${level} gets what envoy.yaml holds (npm run golden deletes it)`);
        fs.unlinkSync(file);
      }
    });

    it('is accepted by grpc-js-xds (gRPC flavour)', () => {
      const config = loadConfig(dir);
      expect(grpcXdsErrors(translateWithWarnings(config, loadEndpoints(dir, config), 'grpc').resources)).toEqual([]);
    });
  });
});
