/**
 * A config's hash is stored in its version file and shown in history, and an edit whose hash
 * equals the served config's makes no version: the hash must not change with how it is computed
 * (whole, in steps, or from the chunks an edit kept).
 * These were computed by the chunked hash (a list hashes as its chunks of 64 entries: an edit
 * re-hashes one chunk) with entries serialised by frozenJson, before they were serialised natively.
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
  'backend-resilience': 'e6bb3daa60346f97',
  'bounded-load': '522eb17bd3fcdbed',
  'client-ip-affinity': 'e62cea58546f0c81',
  'cookie-affinity': '161e9865cf93ca9e',
  'cookie-session': '2f41fa9fc3964799',
  'dns-endpoints': '79f04eb540b786ed',
  'edge-listener': '277dc4b2780ee8cf',
  'empty-config': '7fe1494aed447857',
  'endpoint-drain': 'c229ce64157e8f14',
  'ext-proc-session-key': '72d3738852b124fa',
  'ext-proc-sticky-canary': '573af46124fb9776',
  'grpc-port': '7dfab7ac2a156d85',
  'header-affinity': '478842de07829193',
  'header-prefix-canary': 'cc055b0d8c34a39f',
  'http2-backend': '9b392c8baf621753',
  'least-request': 'fbb8bced3088aa50',
  'locality-failover': 'c933e0f34346cf79',
  'maglev': '686d78f26101612d',
  'matchers': 'c044a5785fb4cbca',
  'multi-key': 'e15b1ae94e9a26ca',
  'query-param-affinity': 'ad73c859e719fc58',
  'shadow-traffic': '680adb2245d94e25',
  'stable-ring': 'd3c542718e9db5e0',
  'sticky-canary': 'c4a81d2d5786b6e3',
  'sticky-split-header': '5a10acbad208e5c4',
  'strong-stickiness': '7bcee53ef0dc9923',
  'tls-listener': '3c9285f1042dd5e2',
  'two-listeners': '59493c8edf3ab3f2',
  'weighted-canary': '2e4fa58712b9692c',
  'zero-weight-split': '31bcdebd1e0dcf51',
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
