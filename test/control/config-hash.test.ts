/**
 * A version file stores its config's hash, and a restart compares the next edit with it (a
 * no-op edit makes no version): the hash of a config must not change with how it is computed.
 * These were computed by the implementation before its entries were serialised natively.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseConfigDocument, validateConfig } from '../../src/config';
import { configHash, configHashSteps, deepFreeze } from '../../src/control/config-hash';
import { runSteps } from '../../src/util/steps';
import { setSecretFileRules } from '../../src/util/secret-files';

// Key file paths are resolved against the secrets dir (default: the working directory), so the
// hashes are pinned under a fixed one: a checkout's location must not change them.
setSecretFileRules({ dir: '/srv/tether' });

const GOLDEN = path.join(__dirname, '..', 'golden');
const PINNED: Record<string, string> = {
  'backend-resilience': '66e55f6272394aef',
  'bounded-load': 'd20f8f0e8c52f7af',
  'client-ip-affinity': '5bc8bfb826a49ba8',
  'cookie-affinity': 'bfbe34b9035ef2e1',
  'cookie-session': '26b31ad203d74ed9',
  'dns-endpoints': '8a604c75f59bd41a',
  'edge-listener': 'd4aec2a0f53ae90c',
  'empty-config': '7fe1494aed447857',
  'endpoint-drain': '0eb8d64ac72f6805',
  'ext-proc-session-key': 'a4b5a04a34d98987',
  'ext-proc-sticky-canary': 'ddc338f250cbc2d5',
  'grpc-port': 'a15c139c466c4a51',
  'header-affinity': '76c9ddb06da6100f',
  'header-prefix-canary': '606d3085915c41e2',
  'http2-backend': 'dd675f84c8446d54',
  'least-request': '05d12f66a658a8a8',
  'locality-failover': '3165cd3093ad5419',
  'maglev': '657da21c54929d1f',
  'matchers': 'bcedd9364fa1364a',
  'multi-key': '9216ec6fb8afe7c5',
  'query-param-affinity': '7276f3b9d2814e24',
  'shadow-traffic': '4f95502c95201616',
  'stable-ring': '2f8ee1e416e97b53',
  'sticky-canary': '54d0b27e0305e652',
  'sticky-split-header': '490e2da322da54fa',
  'strong-stickiness': 'a9823d60a6bbb7e7',
  'tls-listener': '6f150180cb73db1d',
  'two-listeners': '395b65e25b23a9e8',
  'weighted-canary': 'a5060aec6ec4aca8',
  'zero-weight-split': 'd925c5eca4704180',
};

function goldenConfig(name: string) {
  const parsed = parseConfigDocument(fs.readFileSync(path.join(GOLDEN, name, 'input.yaml'), 'utf8'), name);
  if (!parsed.ok) throw new Error(`${name} does not parse`);
  const result = validateConfig(parsed.document);
  if (!result.ok) throw new Error(`${name} is not valid`);
  return result.config;
}

describe('configHash', () => {
  it('gives every golden config the hash stored histories hold', () => {
    for (const [name, hash] of Object.entries(PINNED)) {
      expect(configHash(goldenConfig(name)), name).toBe(hash);
      expect(runSteps(configHashSteps(goldenConfig(name))), name).toBe(hash);
    }
  });

  it('deepFreeze freezes every object and list below, and leaves values as they are', () => {
    const value = { a: [1, { b: { c: [[{ d: 'x' }]] } }], e: null, f: 'g', h: { i: [] as unknown[] } };
    expect(deepFreeze(value)).toBe(value);
    const all: unknown[] = [];
    const walk = (v: unknown) => {
      if (typeof v !== 'object' || v === null) return;
      all.push(v);
      for (const x of Object.values(v)) walk(x);
    };
    walk(value);
    expect(all).toHaveLength(9);
    for (const v of all) expect(Object.isFrozen(v)).toBe(true);
    expect(deepFreeze(null)).toBeNull();
    expect(deepFreeze('s')).toBe('s');
  });
});
