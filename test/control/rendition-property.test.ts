/**
 * Renditions are built incrementally (config/incremental.ts, translate/unit-memo.ts, the
 * encode cache's identity lookups, the store's remembered JSON); a full rebuild is the
 * reference. Random edit sequences on every golden case's config go through the real config
 * manager and publisher; after each one the served rendition must equal, byte for byte, what
 * validating, resolving, translating and encoding the same document from scratch gives —
 * and a rejected edit must be rejected with the same errors. The edits perturb whatever the
 * document holds (values, list entries, order), so fields added to the schema later are
 * covered as soon as a golden case uses them.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { buildSnapshot, EncodeCache } from '../../src/cache/snapshot';
import { SnapshotCache } from '../../src/cache/snapshot-cache';
import { parseConfigDocument, validateConfig } from '../../src/config';
import { openConfigManager, type ConfigManager } from '../../src/control/config-manager';
import { TetherError } from '../../src/config/errors';
import { createPublisher, type Publisher } from '../../src/control/publisher';
import { silentLogger } from '../../src/log';
import { createEndpointResolver } from '../../src/resolve/resolver';
import { NODE_KINDS, translateWithWarnings } from '../../src/translate';
import { MemoryStore } from './memory-store';
import { seededRandom } from '../support/seeded-random';

const GOLDEN = path.join(__dirname, '..', 'golden');
/**
 * tls-listener names certificate files that exist only where its golden output was made (the
 * golden test translates it without reading them); the publisher reads them, so it is left out
 * here. The listener and its SDS secret are translated afresh every time (no unit memo), so the
 * certificates are no input of a memoised unit.
 */
const NEEDS_FILES = new Set(['tls-listener']);
const cases = fs
  .readdirSync(GOLDEN)
  .filter((c) => fs.existsSync(path.join(GOLDEN, c, 'input.yaml')) && !NEEDS_FILES.has(c))
  .sort();

/** Deterministic DNS: a name resolves to one or two addresses derived from it. */
const lookup = async (host: string): Promise<string[]> => {
  let h = 0;
  for (const ch of host) h = (h * 31 + ch.charCodeAt(0)) >>> 0;
  return h % 3 === 0 ? [] : h % 3 === 1 ? [`10.200.${h % 250}.1`] : [`10.201.${h % 250}.1`, `10.201.${h % 250}.2`];
};

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
type Path = Array<string | number>;

/** Every path in `value` (containers and leaves), for picking one at random. */
function paths(value: Json, at: Path = [], out: Path[] = []): Path[] {
  out.push(at);
  if (Array.isArray(value)) value.forEach((v, i) => paths(v, [...at, i], out));
  else if (value !== null && typeof value === 'object') for (const [k, v] of Object.entries(value)) paths(v, [...at, k], out);
  return out;
}

function get(value: Json, at: Path): Json {
  return at.reduce<Json>((v, k) => (v as Record<string | number, Json>)[k]!, value);
}

/** A copy of `root` with the value at `at` replaced (undefined: removed), sharing everything else. */
function setIn(root: Json, at: Path, next: Json | undefined): Json {
  if (at.length === 0) return next ?? {};
  const [head, ...rest] = at;
  if (Array.isArray(root)) {
    const copy = [...root];
    if (rest.length === 0 && next === undefined) copy.splice(head as number, 1);
    else copy[head as number] = setIn(root[head as number]!, rest, next);
    return copy;
  }
  const copy = { ...(root as Record<string, Json>) };
  if (rest.length === 0 && next === undefined) delete copy[head as string];
  else copy[head as string] = setIn((root as Record<string, Json>)[head as string]!, rest, next);
  return copy;
}

/** One random edit of the document; the edits of real mutations share unchanged parts the same way. */
function perturb(doc: Json, random: () => number, donors: readonly Json[]): { doc: Json; what: string } {
  const all = paths(doc).filter((p) => p.length > 0);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)]!;
  if (all.length === 0) return { doc: pick(donors), what: "another case's whole config" };
  const at = pick(all);
  const value = get(doc, at);
  const where = at.join('.');
  const r = random();
  if (typeof value === 'number') {
    const next = r < 0.4 ? value + 1 : r < 0.7 ? Math.max(0, value - 1) : r < 0.85 ? value * 2 : 0;
    return { doc: setIn(doc, at, next), what: `${where}: ${value} → ${next}` };
  }
  if (typeof value === 'boolean') return { doc: setIn(doc, at, !value), what: `${where}: ${value} → ${!value}` };
  if (typeof value === 'string' && r < 0.25) {
    // The same string as a field of that name elsewhere (a service's name, a domain, a backend
    // reference): collisions and references the cross-checks (and their index) relate.
    const key = at[at.length - 1];
    const sameKey = all.filter((p) => p[p.length - 1] === key && typeof get(doc, p) === 'string' && p.join('.') !== where);
    const others = sameKey.length > 0 ? sameKey : all.filter((p) => typeof get(doc, p) === 'string' && p.join('.') !== where);
    if (others.length > 0) {
      const next = get(doc, pick(others)) as string;
      return { doc: setIn(doc, at, next), what: `${where}: ${JSON.stringify(value)} → ${JSON.stringify(next)} (as elsewhere)` };
    }
  }
  if (typeof value === 'string') {
    const next = r < 0.5 ? `${value}x` : r < 0.75 ? value.toUpperCase() : r < 0.9 ? value.slice(0, -1) : '';
    return { doc: setIn(doc, at, next), what: `${where}: ${JSON.stringify(value)} → ${JSON.stringify(next)}` };
  }
  const parent = at.slice(0, -1);
  const container = get(doc, parent);
  if (Array.isArray(container) && r < 0.3) {
    // Duplicate an entry under a fresh name where it has one (a new service, backend, route...).
    const copy = value !== null && typeof value === 'object' && !Array.isArray(value) && typeof value.name === 'string' ? { ...value, name: `${value.name}-copy` } : value;
    const next = [...container, copy];
    return { doc: setIn(doc, parent, next), what: `${parent.join('.')}: appended a copy of [${String(at[at.length - 1])}]` };
  }
  if (Array.isArray(container) && r < 0.45 && container.length > 1) {
    const i = at[at.length - 1] as number;
    const next = [...container];
    const [moved] = next.splice(i, 1);
    next.splice(Math.floor(random() * next.length), 0, moved!);
    return { doc: setIn(doc, parent, next), what: `${parent.join('.')}: moved [${i}]` };
  }
  if (r < 0.6 && (at[0] === 'services' || at[0] === 'backends') && at.length === 2) {
    // An entry from another case's config (references may or may not resolve).
    const donor = pick(donors) as Record<string, Json[] | undefined>;
    const candidates = donor[at[0]] ?? [];
    if (candidates.length > 0) return { doc: setIn(doc, at, pick(candidates)), what: `${where}: replaced by another case's entry` };
  }
  return { doc: setIn(doc, at, undefined), what: `${where}: removed` };
}

interface Setup {
  manager: ConfigManager;
  publisher: Publisher;
  close(): Promise<void>;
}
const open: Setup[] = [];
afterEach(async () => {
  for (const s of open.splice(0)) await s.close();
});

/** `deferGrpc`: the first version is built for gRPC after it is served to Envoy, as `tether serve` does. */
async function setup(document: Json, deferGrpc = false): Promise<Setup> {
  const store = new MemoryStore();
  const publisher = createPublisher({
    cache: new SnapshotCache(),
    logger: silentLogger(),
    lookup,
    resolveIntervalMs: 3_600_000,
    ...(deferGrpc ? { deferKinds: ['grpc'] as const } : {}),
  });
  const manager = await openConfigManager({ store, publisher, logger: silentLogger(), initial: { document, source: 'file' } });
  await publisher.settled();
  const s = {
    manager,
    publisher,
    async close() {
      await manager.close();
      publisher.close();
    },
  };
  open.push(s);
  return s;
}

/** What the full rebuild of `document` serves, or the errors it is rejected with. */
async function reference(document: Json, version: number) {
  const validated = validateConfig(document);
  if (!validated.ok) return { ok: false as const, errors: validated.errors };
  const resolver = createEndpointResolver({ lookup, onChange: () => undefined });
  try {
    const endpoints = await resolver.resolveOnce(validated.config);
    const kinds = NODE_KINDS.map((kind) => {
      const { resources, warnings } = translateWithWarnings(validated.config, endpoints, kind);
      return { kind, warnings, snapshot: buildSnapshot(resources, kind, String(version), new EncodeCache()) };
    });
    return { ok: true as const, config: validated.config, kinds };
  } catch (err) {
    return { ok: false as const, errors: [{ path: '', message: `could not translate config: ${(err as Error).message}` }] };
  } finally {
    resolver.close();
  }
}

async function expectServedEqualsRebuild(s: Setup, document: Json, trail: string): Promise<void> {
  const served = s.publisher.served()!;
  const ref = await reference(document, served.version);
  expect(ref.ok, trail).toBe(true);
  if (!ref.ok) return;
  expect(served.config, trail).toEqual(ref.config);
  for (const { kind, warnings, snapshot } of ref.kinds) {
    const mine = served.snapshots.get(kind)!;
    expect(served.warnings.filter((w) => w.nodeKind === kind).map(({ nodeKind: _, ...w }) => w), `${trail} (${kind} warnings)`).toEqual(warnings);
    expect(mine.contentVersion, `${trail} (${kind})`).toBe(snapshot.contentVersion);
    for (const [typeUrl, set] of Object.entries(snapshot.sets)) {
      const got = mine.sets[typeUrl as keyof typeof mine.sets];
      expect(got.list.map((r) => r.name), `${trail} (${kind} ${typeUrl})`).toEqual(set.list.map((r) => r.name));
      set.list.forEach((r, i) => {
        const g = got.list[i]!;
        if (!g.anyBytes.equals(r.anyBytes) || g.hash !== r.hash) {
          throw new Error(`${trail}: ${kind} ${typeUrl} ${r.name} differs from the full rebuild`);
        }
        expect(g.refs, `${trail} (${kind} ${r.name} refs)`).toEqual(r.refs);
      });
      expect(got.version, `${trail} (${kind} ${typeUrl})`).toBe(set.version);
    }
  }
}

const STEPS = Number(process.env.RENDITION_STEPS ?? 14);

/**
 * A config wide enough for the paths that only pay off at size (a route configuration spliced
 * from its last hosts needs 32 of them; passes patched position by position): 40 services on
 * two listeners, some with a sticky split (sticky clusters per service), some with a session
 * key (the listener's ext_proc), sharing two backends.
 */
function wideDocument(): Json {
  const services: Json[] = [];
  for (let i = 0; i < 40; i++) {
    services.push({
      name: `s${i}`,
      domains: [`s${i}.example.com`, ...(i % 5 === 0 ? [`www.s${i}.example.com`] : [])],
      listeners: i % 3 === 0 ? ['public', 'internal'] : ['public'],
      affinity: { keys: [{ header: 'x-user' }], ...(i % 7 === 0 ? { sessionKey: { sources: [{ header: 'x-session-id' }] } } : {}) },
      routes: [
        { name: 'alt', match: { prefix: `/alt${i}` }, backends: [{ name: 'v1' }] },
        { name: 'main', ...(i % 4 === 0 ? { stickySplit: true } : {}), backends: [{ name: 'v1', weight: 90 }, { name: 'v2', weight: 10 }] },
      ],
    });
  }
  return {
    listeners: [{ name: 'public', port: 10000 }, { name: 'internal', port: 10001, address: '127.0.0.1' }],
    services,
    backends: [
      { name: 'v1', endpoints: ['10.0.0.1:8080', '10.0.0.2:8080', { address: '10.0.0.3:8080', weight: 2 }] },
      { name: 'v2', endpoints: ['10.0.1.1:8080', 'v2.internal:8080'] },
    ],
  };
}

describe('incremental renditions equal a full rebuild', () => {
  const documents = new Map(cases.map((c) => {
    const parsed = parseConfigDocument(fs.readFileSync(path.join(GOLDEN, c, 'input.yaml'), 'utf8'), c);
    if (!parsed.ok) throw new Error(`${c}: ${JSON.stringify(parsed.errors)}`);
    return [c, parsed.document as Json];
  }));
  documents.set('wide (generated)', wideDocument());
  const donors = [...documents.values()];

  it.each([...cases, 'wide (generated)'])('%s: random edit sequences', async (name) => {
    const seed = [...name].reduce((h, ch) => (h * 33 + ch.charCodeAt(0)) >>> 0, 5381) ^ Number(process.env.RENDITION_SEED ?? 0);
    const random = seededRandom(seed);
    // Every other case starts as a cold start of `tether serve` does: gRPC built after Envoy is served.
    const s = await setup(documents.get(name)!, cases.indexOf(name) % 2 === 0);
    await expectServedEqualsRebuild(s, documents.get(name)!, `${name} seed ${seed}: start`);
    let accepted = 0;
    let rejected = 0;
    const trail: string[] = [];
    const steps = name.startsWith('wide') ? STEPS * 3 : STEPS;
    for (let step = 0; step < steps; step++) {
      const current = s.manager.current().document as Json;
      const { doc: next, what } = perturb(current, random, donors);
      trail.push(what);
      const label = `${name} seed ${seed} step ${step} (${trail.join('; ')})`;
      const ref = await reference(next, 0);
      const dryRun = random() < 0.15;
      const before = s.publisher.served();
      const outcome = await s.manager.mutate('test', () => next as never, { dryRun }).then(
        (r) => ({ ok: true as const, r }),
        (e: unknown) => ({ ok: false as const, e: e as TetherError }),
      );
      if (!ref.ok) {
        expect(outcome.ok, label).toBe(false);
        if (!outcome.ok) expect(outcome.e.fieldErrors, label).toEqual(ref.errors);
        rejected++;
        trail.pop();
        continue;
      }
      expect(outcome.ok, `${label}: ${outcome.ok ? '' : outcome.e.message}`).toBe(true);
      if (dryRun) {
        expect(s.publisher.served(), label).toBe(before); // a dry run changes nothing
        trail.pop();
        continue;
      }
      accepted++;
      await expectServedEqualsRebuild(s, next, label);
    }
    // Most sequences must exercise accepted edits, not only rejections.
    expect(accepted).toBeGreaterThan(0);
    if (process.env.RENDITION_STATS) console.log(`${name}: ${accepted} accepted, ${rejected} rejected`);
  });
});
