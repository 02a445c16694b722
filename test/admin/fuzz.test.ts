/**
 * Malformed and oversized requests against every method, sent as raw bytes through a
 * pass-through client: random bodies, random Structs of wrong shapes, huge strings, deep
 * nesting, invalid UTF-8, messages over the size limit, missing or wrong tokens. The server
 * must answer each with a clear error (never INTERNAL), never change the config, and keep
 * serving. Deterministic: a seeded PRNG drives everything.
 */
import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_PROTO_FILE } from '../../src/admin/admin-proto';
import { ENVOY_INCLUDE_DIRS, TETHER_PROTO_DIR, loadRoot } from '../../src/envoy/protos';
import { AdminHarness, TOKEN, baseConfig, bearer } from './harness';
import { objectToStruct, structToObject } from '../../src/admin/convert';
import { seededRandom } from '../support/seeded-random';

const SEED = 0x7e7e7;
const ITERATIONS = 1200;
const CONCURRENCY = 24;

class Rng {
  readonly next: () => number;
  constructor(seed: number) {
    this.next = seededRandom(seed);
  }
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)]!;
  }
  bytes(n: number): Buffer {
    const b = Buffer.alloc(n);
    for (let i = 0; i < n; i++) b[i] = this.int(256);
    return b;
  }
  text(n: number, alphabet = 'abcdefghijklmnopqrstuvwxyzABCXYZ0123456789-._ :/[]{}"\'#&*!|>\n\t✓é🚀'): string {
    const chars = [...alphabet];
    const out = new Array<string>(n);
    for (let i = 0; i < n; i++) out[i] = chars[this.int(chars.length)]!;
    return out.join('');
  }
}

// ---- Raw protobuf wire building, for what no encoder will produce (invalid UTF-8, depth) ----

function varint(value: number): Buffer {
  const out: number[] = [];
  let v = BigInt(value);
  do {
    let byte = Number(v & 0x7fn);
    v >>= 7n;
    if (v > 0n) byte |= 0x80;
    out.push(byte);
  } while (v > 0n);
  return Buffer.from(out);
}
const ld = (field: number, payload: Buffer | string): Buffer => {
  const p = typeof payload === 'string' ? Buffer.from(payload) : payload;
  return Buffer.concat([varint((field << 3) | 2), varint(p.length), p]);
};
const vi = (field: number, value: number): Buffer => Buffer.concat([varint(field << 3), varint(value)]);
/** One Struct entry `key: value` (Struct.fields is map<string, Value>, field 1). */
const entry = (key: Buffer | string, value: Buffer): Buffer => ld(1, Buffer.concat([ld(1, key), ld(2, value)]));
const stringValue = (s: Buffer | string): Buffer => ld(3, s);

/** A Struct nested `depth` levels through struct_value (and list_value every third level). */
function deepStruct(depth: number): Buffer {
  let struct = entry('leaf', stringValue('x'));
  for (let i = 0; i < depth; i++) {
    const value = i % 3 === 2 ? ld(6, ld(1, ld(5, struct))) : ld(5, struct);
    struct = entry(`k${i}`, value);
  }
  return struct;
}

const INVALID_UTF8 = [[0xff], [0xc0, 0xaf], [0xed, 0xa0, 0x80], [0xe2, 0x82], [0xf8, 0x88, 0x80, 0x80, 0x80], [0x80], [0xf4, 0x90, 0x80, 0x80]].map((b) => Buffer.from(b));

function badUtf8(rng: Rng): Buffer {
  return Buffer.concat([Buffer.from(rng.text(rng.int(5), 'abc')), rng.pick(INVALID_UTF8), Buffer.from(rng.text(rng.int(5), 'xyz'))]);
}

// ---- The methods, and what an error may be for each ----

type Kind = 'mutation' | 'read' | 'status' | 'stream';
interface Method {
  name: string;
  request: string;
  kind: Kind;
  /** Where a string field is, for invalid UTF-8 placement (field numbers; `struct` = a Struct field). */
  strings: number[];
  struct?: number;
}

const METHODS: Method[] = [
  { name: 'GetConfig', request: 'GetConfigRequest', kind: 'read', strings: [] },
  { name: 'ApplyConfig', request: 'ApplyConfigRequest', kind: 'mutation', strings: [3], struct: 2 },
  { name: 'UpsertService', request: 'UpsertServiceRequest', kind: 'mutation', strings: [], struct: 2 },
  { name: 'DeleteService', request: 'DeleteServiceRequest', kind: 'mutation', strings: [2] },
  { name: 'UpsertRoute', request: 'UpsertRouteRequest', kind: 'mutation', strings: [2], struct: 3 },
  { name: 'DeleteRoute', request: 'DeleteRouteRequest', kind: 'mutation', strings: [2, 3] },
  { name: 'UpsertBackend', request: 'UpsertBackendRequest', kind: 'mutation', strings: [], struct: 2 },
  { name: 'DeleteBackend', request: 'DeleteBackendRequest', kind: 'mutation', strings: [2] },
  { name: 'SetSplit', request: 'SetSplitRequest', kind: 'mutation', strings: [2, 3] },
  { name: 'Promote', request: 'PromoteRequest', kind: 'mutation', strings: [2, 3, 4] },
  { name: 'Rollback', request: 'RollbackRequest', kind: 'mutation', strings: [] },
  { name: 'ListVersions', request: 'ListVersionsRequest', kind: 'read', strings: [] },
  { name: 'AddEndpoint', request: 'EndpointRequest', kind: 'mutation', strings: [2, 3] },
  { name: 'RemoveEndpoint', request: 'EndpointRequest', kind: 'mutation', strings: [2, 3] },
  { name: 'DrainEndpoint', request: 'EndpointRequest', kind: 'mutation', strings: [2, 3] },
  { name: 'GetStatus', request: 'GetStatusRequest', kind: 'status', strings: [1] },
  { name: 'WaitForRollout', request: 'WaitForRolloutRequest', kind: 'stream', strings: [2, 3] },
];

const S = grpc.status;
/** Bad input is refused for what it is; reads of a message that happens to decode may succeed. */
const ALLOWED: Record<Kind, readonly grpc.status[]> = {
  mutation: [S.INVALID_ARGUMENT, S.NOT_FOUND, S.FAILED_PRECONDITION, S.ABORTED],
  read: [S.OK, S.INVALID_ARGUMENT],
  status: [S.OK, S.INVALID_ARGUMENT],
  // A decodable rollout wait ends CONVERGED/TIMED_OUT (OK), or at the call's deadline.
  stream: [S.OK, S.INVALID_ARGUMENT, S.DEADLINE_EXCEEDED],
};

// ---- Generators of well-encoded but wrong requests ----

const root = loadRoot([ADMIN_PROTO_FILE], [TETHER_PROTO_DIR, ...ENVOY_INCLUDE_DIRS]);
const encode = (request: string, value: Record<string, unknown>): Buffer => {
  const type = root.lookupType(`tether.admin.v1.${request}`);
  return Buffer.from(type.encode(type.fromObject(value)).finish());
};

/** A name that cannot exist in the config: empty, invalid, too long, or unknown. */
function badName(rng: Rng): string {
  switch (rng.int(5)) {
    case 0:
      return '';
    case 1:
      return rng.text(1 + rng.int(20), 'ABC _/:*é🚀');
    case 2:
      return 'a'.repeat(254 + rng.int(200_000));
    default:
      return `zz${rng.text(1 + rng.int(12), 'abcdefghij0123456789-')}x`;
  }
}

/** A Struct Value of any (often wrong) shape, in proto-loader/protobufjs object form. */
function randomValue(rng: Rng, depth: number): Record<string, unknown> {
  switch (rng.int(depth > 4 ? 4 : 7)) {
    case 0:
      return { nullValue: 0 };
    case 1:
      return { numberValue: rng.pick([0, -1, 1e308, -0.5, 65536, NaN, Infinity, -Infinity, 2 ** 53 + 1]) };
    case 2:
      return { stringValue: rng.chance(0.05) ? rng.text(50_000) : rng.text(rng.int(30)) };
    case 3:
      return { boolValue: rng.chance(0.5) };
    case 4:
      return { structValue: randomStruct(rng, depth + 1) };
    case 5:
      return { listValue: { values: Array.from({ length: rng.int(4) }, () => randomValue(rng, depth + 1)) } };
    default:
      return {}; // no kind set
  }
}

const CONFIG_KEYS = ['name', 'services', 'backends', 'listeners', 'routes', 'endpoints', 'domains', 'affinity', 'weight', 'match', 'port', '__proto__', 'constructor', ''];

function randomStruct(rng: Rng, depth = 0): Record<string, unknown> {
  const fields: Record<string, unknown> = {};
  const n = rng.int(depth === 0 ? 6 : 3);
  for (let i = 0; i < n; i++) fields[rng.chance(0.7) ? rng.pick(CONFIG_KEYS) : rng.text(rng.int(10))] = randomValue(rng, depth);
  // Always at least one unknown field at the top, so no random document is ever a valid config.
  if (depth === 0) fields['zz-junk'] = { stringValue: 'junk' };
  return { fields };
}

function randomOptions(rng: Rng): Record<string, unknown> | undefined {
  if (rng.chance(0.5)) return undefined;
  return {
    dry_run: rng.chance(0.5),
    expected_version: rng.pick(['0', '1', '2', '999', '18446744073709551615']),
    description: rng.chance(0.1) ? rng.text(5000) : rng.text(rng.int(20)),
  };
}

function wellEncoded(rng: Rng, m: Method): Buffer {
  const options = randomOptions(rng);
  const base = options ? { options } : {};
  switch (m.name) {
    case 'GetConfig':
    case 'ListVersions':
      return Buffer.alloc(0);
    case 'ApplyConfig':
      return encode(m.request, rng.chance(0.6) ? { ...base, config: randomStruct(rng) } : { ...base, text: rng.chance(0.1) ? rng.text(100_000) : rng.text(rng.int(200)) });
    case 'UpsertService':
    case 'UpsertBackend':
      return encode(m.request, { ...base, ...(rng.chance(0.9) ? { [m.name === 'UpsertService' ? 'service' : 'backend']: randomStruct(rng) } : {}) });
    case 'UpsertRoute':
      return encode(m.request, { ...base, service: rng.chance(0.5) ? 'shop' : badName(rng), route: randomStruct(rng), position: rng.pick([0, -5, 2 ** 31 - 1, 7]) });
    case 'DeleteService':
      return encode(m.request, { ...base, name: badName(rng) });
    case 'DeleteBackend':
      // shop-v1 is in use: FAILED_PRECONDITION.
      return encode(m.request, { ...base, name: rng.chance(0.3) ? 'shop-v1' : badName(rng) });
    case 'DeleteRoute':
      // search/all is the service's last route: FAILED_PRECONDITION.
      if (rng.chance(0.3)) return encode(m.request, { ...base, service: 'search', route: 'all' });
      return encode(m.request, { ...base, service: rng.chance(0.5) ? 'shop' : badName(rng), route: badName(rng) });
    case 'SetSplit': {
      const weights: Record<string, number> = {};
      for (let i = rng.int(4); i > 0; i--) weights[rng.chance(0.3) ? 'shop-v1' : badName(rng).slice(0, 300)] = rng.pick([0, 1, 100, 4294967295]);
      return encode(m.request, { ...base, service: rng.chance(0.3) ? 'shop' : badName(rng), route: rng.chance(0.5) ? '' : badName(rng), weights });
    }
    case 'Promote':
      return encode(m.request, { ...base, service: rng.chance(0.3) ? 'shop' : badName(rng), backend: badName(rng), route: rng.chance(0.5) ? '' : badName(rng) });
    case 'Rollback':
      return encode(m.request, { ...base, to_version: rng.pick(['0', '2', '3', '1000000', '18446744073709551615']) });
    case 'AddEndpoint':
    case 'RemoveEndpoint':
    case 'DrainEndpoint': {
      // 127.0.0.1:8083 is shop-v2's last endpoint: FAILED_PRECONDITION.
      if (m.name === 'RemoveEndpoint' && rng.chance(0.3)) return encode(m.request, { ...base, backend: 'shop-v2', address: '127.0.0.1:8083' });
      const goodBackend = rng.chance(0.3);
      const address = goodBackend && m.name === 'AddEndpoint' ? rng.pick(['', 'no-port', '1.2.3.4:99999', '[::1', 'a b:80', 'x'.repeat(400)]) : rng.pick(['', 'no-port', '10.9.9.9:1', '[::1]:5', rng.text(30)]);
      return encode(m.request, { ...base, backend: goodBackend ? 'shop-v1' : badName(rng), address, weight: rng.pick([0, 1, 4294967295]) });
    }
    case 'GetStatus':
      return encode(m.request, { node_kind: rng.pick(['', 'envoy', 'grpc', 'x', rng.text(100_000)]) });
    case 'WaitForRollout':
      return encode(m.request, {
        version: rng.pick(['0', '1', '2', '18446744073709551615']),
        node_ids: Array.from({ length: rng.int(3) }, () => rng.pick(['', 'n1', 'x'.repeat(2000), rng.text(10)])),
        node_kind: rng.pick(['', 'envoy', 'bogus']),
        timeout_ms: rng.int(200),
      });
    default:
      throw new Error(`no generator for ${m.name}`);
  }
}

/** A message whose string field (or Struct key / string value) holds invalid UTF-8. */
function invalidUtf8(rng: Rng, m: Method): Buffer {
  const choices: Buffer[] = m.strings.map((f) => ld(f, badUtf8(rng)));
  if (m.struct) {
    choices.push(ld(m.struct, entry(badUtf8(rng), stringValue('v'))));
    choices.push(ld(m.struct, entry('name', stringValue(badUtf8(rng)))));
  }
  if (m.name === 'SetSplit') choices.push(ld(4, Buffer.concat([ld(1, badUtf8(rng)), vi(2, 1)])));
  // Every mutation has options.description (field 3 of MutationOptions, field 1 of the request).
  if (m.kind === 'mutation') choices.push(ld(1, ld(3, badUtf8(rng))));
  if (choices.length === 0) return Buffer.alloc(0);
  return rng.pick(choices);
}

function deeplyNested(rng: Rng, m: Method): Buffer {
  const depth = rng.pick([33, 40, 60, 120, 500, 3000]);
  return ld(m.struct!, deepStruct(depth));
}

// ---- Sending raw bytes ----

interface Outcome {
  code: grpc.status;
  details: string;
}

function send(client: grpc.Client, m: Method, body: Buffer, md: grpc.Metadata): Promise<Outcome> {
  const path = `/tether.admin.v1.Admin/${m.name}`;
  const identity = (b: Buffer) => b;
  return new Promise((resolve) => {
    if (m.kind === 'stream') {
      const call = client.makeServerStreamRequest(path, identity, identity, body, md, { deadline: Date.now() + 1000 });
      call.on('data', () => undefined);
      call.on('error', () => undefined);
      call.on('status', (s: grpc.StatusObject) => resolve({ code: s.code, details: s.details }));
    } else {
      client.makeUnaryRequest(path, identity, identity, body, md, { deadline: Date.now() + 10_000 }, (err) =>
        resolve(err ? { code: err.code, details: err.details } : { code: grpc.status.OK, details: '' }),
      );
    }
  });
}

describe('admin API fuzz', () => {
  let h: AdminHarness;
  beforeAll(async () => {
    // The default limit is ~97 MiB (src/admin/message-limits.ts); a smaller one keeps the
    // oversized cases cheap while exercising the same check.
    h = await AdminHarness.start({ maxReceiveMessageBytes: 4 * 1024 * 1024 });
  });
  afterAll(async () => {
    await h.close();
  });

  it(`answers ${ITERATIONS}+ malformed, oversized and unauthenticated requests with clear errors and changes nothing`, async () => {
    const rng = new Rng(SEED);
    const client = h.rawClient();
    const counts = new Map<string, number>();
    const failures: string[] = [];
    const oversized = Buffer.alloc(4 * 1024 * 1024 + 64, 0x0a);

    const cases: { m: Method; category: string; body: Buffer; token: string | null }[] = [];
    // Every method gets random bytes, an oversized body and no token at least once.
    for (const m of METHODS) {
      cases.push({ m, category: 'random-bytes', body: rng.bytes(1 + rng.int(64)), token: TOKEN });
      cases.push({ m, category: 'oversized', body: oversized, token: TOKEN });
      cases.push({ m, category: 'no-token', body: rng.bytes(rng.int(16)), token: null });
      if (m.struct) cases.push({ m, category: 'deep', body: deeplyNested(rng, m), token: TOKEN });
      if (m.strings.length > 0 || m.struct) cases.push({ m, category: 'utf8', body: invalidUtf8(rng, m), token: TOKEN });
    }
    while (cases.length < ITERATIONS) {
      const m = rng.pick(METHODS);
      const roll = rng.next();
      let category: string;
      let body: Buffer;
      if (roll < 0.35) {
        category = 'random-bytes';
        body = rng.bytes(rng.chance(0.1) ? rng.int(100_000) : rng.int(200));
      } else if (roll < 0.75) {
        category = 'wrong-shape';
        body = wellEncoded(rng, m);
      } else if (roll < 0.88 && (m.strings.length > 0 || m.struct || m.kind === 'mutation')) {
        category = 'utf8';
        body = invalidUtf8(rng, m);
      } else if (roll < 0.93 && m.struct) {
        category = 'deep';
        body = deeplyNested(rng, m);
      } else {
        category = 'bad-token';
        body = rng.chance(0.5) ? wellEncoded(rng, m) : rng.bytes(rng.int(100));
      }
      const token = category === 'bad-token' ? rng.pick([null, '', 'wrong', `${TOKEN}x`, TOKEN.slice(1)]) : TOKEN;
      cases.push({ m, category, body, token });
    }

    let next = 0;
    const worker = async () => {
      while (next < cases.length) {
        const c = cases[next++]!;
        const md = c.token === null ? new grpc.Metadata() : bearer(c.token);
        const out = await send(client, c.m, c.body, md);
        const allowed =
          c.category === 'oversized'
            ? [S.RESOURCE_EXHAUSTED]
            : c.token !== TOKEN
              ? [S.UNAUTHENTICATED]
              : c.category === 'utf8' || c.category === 'deep'
                ? [S.INVALID_ARGUMENT]
                : ALLOWED[c.m.kind];
        counts.set(`${c.category} ${S[out.code]}`, (counts.get(`${c.category} ${S[out.code]}`) ?? 0) + 1);
        if (out.code === S.INTERNAL || !allowed.includes(out.code) || (out.code !== S.OK && out.details.trim() === '')) {
          failures.push(`${c.m.name} ${c.category} (${c.body.length} bytes): ${S[out.code]} ${JSON.stringify(out.details.slice(0, 200))}`);
        }
      }
    };
    await Promise.all(Array.from({ length: CONCURRENCY }, worker));

    if (process.env.FUZZ_DEBUG) console.log([...counts.entries()].sort());
    expect(failures).toEqual([]);
    expect(cases.length).toBeGreaterThanOrEqual(1000);
    // The mix really exercised each kind of refusal.
    for (const key of ['random-bytes INVALID_ARGUMENT', 'wrong-shape INVALID_ARGUMENT', 'wrong-shape NOT_FOUND', 'wrong-shape FAILED_PRECONDITION', 'utf8 INVALID_ARGUMENT', 'deep INVALID_ARGUMENT', 'oversized RESOURCE_EXHAUSTED', 'bad-token UNAUTHENTICATED']) {
      expect(counts.get(key) ?? 0, key).toBeGreaterThan(0);
    }

    // Nothing changed, and the server still serves.
    expect(h.version()).toBe(1);
    expect((await h.manager.history()).map((v) => v.version)).toEqual([1]);
    const res = await h.api.GetConfig();
    expect(structToObject(res.config, [], [])).toEqual(baseConfig());
    expect(await h.api.ApplyConfig({ config: objectToStruct({ ...baseConfig(), listeners: [{ name: 'http', port: 10001 }] }) })).toMatchObject({ version: '2' });
  });
});
