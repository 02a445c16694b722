/**
 * The config side of an edit works in the window where the lists changed (util/list-window.ts):
 * the document check and freeze, the schema per entry, normalisation (with the counts of which
 * backends sticky services use and which services have a session key), the chunked config hash,
 * the version file's patch and the description of a whole-config apply. The whole-config path
 * is the reference: random edit sequences on a config bigger than a hash chunk, through the real
 * config manager and file store, give after every edit the model, content hash and description
 * the full path gives, and every kept version reads back from disk as the document it was.
 * (rendition-property.test.ts checks the Envoy resources on the golden configs.)
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { validateConfig } from '../../src/config';
import { configHash } from '../../src/control/config-hash';
import { describeDocumentChange } from '../../src/control/change-description';
import { openConfigManager } from '../../src/control/config-manager';
import { edits } from '../../src/control/mutations';
import type { DocumentEdit } from '../../src/control/types';
import { silentLogger } from '../../src/log';
import { createFileStore } from '../../src/store';
import { nullPublisher } from './null-publisher';
import { seededRandom } from '../support/seeded-random';

type Doc = Record<string, unknown>;
type Rec = Record<string, unknown>;

const SERVICES = 150;
const BACKENDS = 90;

function service(i: number, backend: number, extra: Rec = {}): Rec {
  return { name: `s${i}`, domains: [`s${i}.example`], routes: [{ name: 'main', backends: [{ name: `b${backend}` }] }], ...extra };
}
const sticky = { affinity: { keys: [{ header: 'x-user' }] } };
const sessionKey = { affinity: { keys: [{ header: 'x-user' }], sessionKey: { sources: [{ header: 'x-session' }] } } };
const backend = (i: number, port = 80): Rec => ({ name: `b${i}`, endpoints: [`10.0.${i % 250}.1:${port}`] });

function initial(): Doc {
  return {
    listeners: [{ name: 'http', port: 10000 }],
    services: Array.from({ length: SERVICES }, (_, i) => service(i, i % BACKENDS, i % 7 === 0 ? sticky : i === 3 ? sessionKey : {})),
    backends: Array.from({ length: BACKENDS }, (_, i) => backend(i)),
  };
}

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});

type Step = { what: string; edit: DocumentEdit | ((doc: Doc) => Doc) } | { what: string; apply: (doc: Doc) => Doc };

const names = (doc: Doc, key: string) => (doc[key] as Rec[]).map((e) => e.name as string);

/** One random edit: a targeted edit, a raw change of the lists, or a whole config applied. */
function step(doc: Doc, random: () => number, n: number): Step {
  const pick = <T,>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)]!;
  const svc = pick(names(doc, 'services'));
  const b = pick(names(doc, 'backends'));
  const list = (key: string, change: (l: unknown[]) => void) => (d: Doc) => {
    const l = [...(d[key] as unknown[])];
    change(l);
    return { ...d, [key]: l };
  };
  const r = random();
  if (r < 0.15) return { what: `route ${svc}`, edit: edits.upsertRoute(svc, { name: 'main', match: { prefix: `/${n}` }, backends: [{ name: b }] }) };
  if (r < 0.22) return { what: `split ${svc}`, edit: edits.setSplit(svc, 'main', { [b]: 1, [pick(names(doc, 'backends'))]: 2 }) };
  if (r < 0.3) return { what: `endpoint ${b}`, edit: edits.addEndpoint(b, `10.9.${n % 250}.${1 + (n % 200)}:80`) };
  if (r < 0.36) return { what: `new service n${n}`, edit: edits.upsertService(service(1000 + n, 0, random() < 0.5 ? sticky : {})) };
  if (r < 0.42) return { what: `delete ${svc}`, edit: edits.deleteService(svc) };
  if (r < 0.46) return { what: `new backend`, edit: edits.upsertBackend(backend(500 + n)) };
  if (r < 0.5) return { what: `backend ${b} port`, edit: edits.upsertBackend({ ...backend(Number(b.slice(1)), 81 + n) }) };
  // Affinity on or off: the backends it routes to become (or stop being) sticky (hash balancing by default).
  if (r < 0.58) {
    const extra = pick([sticky, sessionKey, {}]);
    return { what: `affinity ${svc} ${JSON.stringify(extra).slice(0, 30)}`, edit: (d) => list('services', (l) => { const i = l.findIndex((s) => (s as Rec).name === svc); const { affinity: _, ...rest } = l[i] as Rec; l[i] = { ...rest, ...extra }; })(d) };
  }
  if (r < 0.64) return { what: `move ${svc}`, edit: list('services', (l) => l.splice(Math.floor(random() * l.length), 0, ...l.splice(l.findIndex((s) => (s as Rec).name === svc), 1))) };
  if (r < 0.68) return { what: `insert service at front`, edit: list('services', (l) => l.unshift(service(3000 + n, 1))) };
  if (r < 0.72) return { what: `equal copy of ${svc}`, edit: list('services', (l) => { const i = l.findIndex((s) => (s as Rec).name === svc); l[i] = structuredClone(l[i]); }) };
  if (r < 0.76) return { what: `duplicate name (rejected)`, edit: list('services', (l) => l.push({ ...(l[0] as Rec) })) };
  if (r < 0.8) return { what: `unknown backend (rejected)`, edit: edits.upsertRoute(svc, { name: 'main', backends: [{ name: 'nope' }] }) };
  if (r < 0.84) return { what: 'listener added', edit: (d) => ({ ...d, listeners: [...(d.listeners as unknown[]), { name: `l${n}`, port: 11000 + n }] }) };
  // A whole config applied: every entry a new object, one of them changed.
  return {
    what: `apply with ${svc} changed`,
    apply: (d) => {
      const copy = structuredClone(d);
      const l = copy.services as Rec[];
      const i = l.findIndex((s) => s.name === svc);
      l[i] = { ...l[i]!, domains: [`${svc}.apply${n}.example`] };
      return copy;
    },
  };
}

describe('the config side of an edit, in its window, equals the whole-config path', () => {
  it.each([1, 2, 3])('random edit sequences (seed %i): model, hash, description and version files', async (seed) => {
    const random = seededRandom(seed * 7919);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tether-edit-window-'));
    dirs.push(dir);
    const store = await createFileStore({ dir, retain: 100 });
    const manager = await openConfigManager({ store, publisher: nullPublisher(), logger: silentLogger(), initial: { document: initial(), source: 'file' } });
    const expected = new Map<number, Doc>([[1, initial()]]);
    let accepted = 0;
    for (let n = 0; n < 60; n++) {
      const before = manager.current();
      const s = step(before.document, random, n);
      const label = `seed ${seed} edit ${n}: ${s.what}`;
      const next = 'apply' in s ? s.apply(before.document) : typeof s.edit === 'function' ? s.edit(before.document) : s.edit.apply(before.document);
      const reference = validateConfig(structuredClone(next));
      const outcome = await ('apply' in s ? manager.apply(next, { source: 'test' }) : manager.mutate('test', () => next, {})).then(
        (r) => ({ ok: true as const, r }),
        (e: unknown) => ({ ok: false as const, e }),
      );
      expect(outcome.ok, `${label}: ${outcome.ok ? '' : String(outcome.e)}`).toBe(reference.ok);
      if (!reference.ok || !outcome.ok) continue;
      const current = manager.current();
      expect(current.config, label).toEqual(reference.config);
      if (!outcome.r.changed) continue;
      accepted++;
      expected.set(current.version, structuredClone(next));
      const [meta] = await manager.history();
      expect(meta!.contentHash, label).toBe(configHash(reference.config));
      if ('apply' in s) expect(meta!.description, label).toBe(describeDocumentChange(before.document, structuredClone(next)));
    }
    expect(accepted).toBeGreaterThan(20);
    await manager.close();
    await store.close();
    // Every version as written (patches against checkpoints), read back by a new store.
    const again = await createFileStore({ dir, retain: 100 });
    for (const [version, doc] of expected) expect((await again.get(version))?.document, `version ${version}`).toEqual(doc);
    await again.close();
  });
});
