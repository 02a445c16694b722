/**
 * The cross-check index (config/cross-check-index.ts) against the full cross-check: random
 * edits of services and backends, each one's verdict from the index compared with whether
 * crossCheck() of the whole finds any error. After a rejected edit the index is dropped and
 * built again, as validation does; accepted edits carry it on.
 */
import { describe, expect, it } from 'vitest';
import { crossCheck } from '../../src/config/cross-check';
import { CrossCheckIndex } from '../../src/config/cross-check-index';
import { runSteps } from '../../src/util/steps';

type Rec = Record<string, unknown>;

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s ^ (s >>> 15), 0x2c1b3c6d) + 0x9e3779b9) >>> 0;
    return s / 2 ** 32;
  };
}

const BACKENDS = ['b0', 'b1', 'b2', 'b3', 'b4', 'b5'];

function service(i: number, backends: string[], extra: Rec = {}): Rec {
  return { name: `s${i}`, domains: [`d${i}.example`], routes: [{ name: 'r', backends: backends.map((name) => ({ name, weight: 1 })) }], ...extra };
}

function start(): { rest: Rec; services: Rec[]; backends: Rec[] } {
  return {
    rest: { listeners: [{ name: 'http', port: 8080 }, { name: 'grpc', port: 8081 }] },
    services: Array.from({ length: 8 }, (_, i) => service(i, [BACKENDS[i % BACKENDS.length]!])),
    backends: BACKENDS.map((name) => ({ name, endpoints: ['10.0.0.1:80'] })),
  };
}

/** One random edit: a new entry object for what changes, the same objects for the rest. */
function edit(next: () => number, services: Rec[], backends: Rec[]): { services: Rec[]; backends: Rec[]; what: string } {
  const s = services.slice();
  const b = backends.slice();
  const pick = <T,>(a: T[]) => Math.floor(next() * a.length) % Math.max(1, a.length);
  const i = pick(s);
  const j = pick(b);
  const name = BACKENDS[pick(BACKENDS)]!;
  const cases: Array<[string, () => void]> = [
    ['route to another backend', () => (s[i] = service(Number(String(s[i]!.name).slice(1)), [name]))],
    ['split to two backends', () => (s[i] = { ...s[i]!, routes: [{ backends: [{ name, weight: 1 }, { name: BACKENDS[pick(BACKENDS)]!, weight: 2 }] }] })],
    ['affinity', () => (s[i] = { ...s[i]!, affinity: { hashOn: { header: 'x-user' } } })],
    ['session key', () => (s[i] = { ...s[i]!, affinity: { hashOn: { header: 'x-user' }, sessionKey: { header: 'x-user' } } })],
    ['ring sticky split', () => (s[i] = { ...s[i]!, affinity: { hashOn: { header: 'x-user' } }, routes: [{ stickySplit: true, backends: [{ name, weight: 1 }, { name: BACKENDS[pick(BACKENDS)]!, weight: 1 }] }] })],
    ['mirror', () => (s[i] = { ...s[i]!, routes: [{ backends: [{ name: 'b0' }], mirror: [{ backend: name }] }] })],
    ['domain clash', () => (s[i] = { ...s[i]!, domains: [`d${pick(s)}.example`] })],
    ['only on grpc', () => (s[i] = { ...s[i]!, listeners: ['grpc'] })],
    ['unknown listener', () => (s[i] = { ...s[i]!, listeners: ['nope'] })],
    ['duplicate service', () => s.push({ ...s[i]!, domains: ['dup.example'] })],
    ['same entry twice', () => s.push(s[i]!)],
    ['remove service', () => s.splice(i, 1)],
    ['add service', () => s.push(service(100 + Math.floor(next() * 5), [name]))],
    ['move service', () => s.push(...s.splice(i, 1))],
    ['remove backend', () => b.splice(j, 1)],
    ['rename backend', () => (b[j] = { ...b[j]!, name: `${String(b[j]!.name)}x` })],
    ['backend back', () => b.push({ name, endpoints: ['10.0.0.9:80'] })],
    ['grpc backend', () => (b[j] = { ...b[j]!, protocol: 'grpc' })],
    ['round robin', () => (b[j] = { ...b[j]!, balancer: { type: 'round_robin' } })],
    ['ring hash', () => (b[j] = { ...b[j]!, balancer: { type: 'ring_hash' } })],
    ['ext_proc cluster name', () => b.push({ name: 'tether-extproc', endpoints: ['10.0.0.9:80'] })],
    ['endpoints', () => (b[j] = { ...b[j]!, endpoints: ['10.0.0.7:80'] })],
  ];
  const [what, run] = cases[Math.floor(next() * cases.length)]!;
  run();
  return { services: s, backends: b, what };
}

describe('cross-check index', () => {
  it('gives the full cross-check verdict on random edit sequences', () => {
    let accepted = 0;
    let rejected = 0;
    for (let seed = 1; seed <= 40; seed++) {
      const next = rng(seed);
      const init = start();
      const rest = init.rest;
      let { services, backends } = init;
      const restKey = JSON.stringify(rest);
      let index = CrossCheckIndex.build({ ...rest, services, backends }, restKey).index;
      expect(index).toBeDefined();
      for (let step = 0; step < 40; step++) {
        const e = edit(next, services, backends);
        const whole = { ...rest, services: e.services, backends: e.backends };
        const expected = crossCheck(whole).length === 0;
        index ??= CrossCheckIndex.build({ ...rest, services, backends }, restKey).index!;
        const verdict = index.update(e.services, e.backends);
        expect(verdict, `seed ${seed} step ${step} (${e.what}): ${JSON.stringify(crossCheck(whole))}`).toBe(expected);
        // Built in steps from empty lists (a whole new config), the verdict is the same.
        expect(runSteps(CrossCheckIndex.buildSteps(whole, restKey)) !== undefined, `seed ${seed} step ${step} (${e.what}), built in steps`).toBe(expected);
        if (verdict) {
          ({ services, backends } = e);
          accepted++;
        } else {
          index = undefined;
          rejected++;
        }
      }
    }
    // Both verdicts are exercised.
    expect(accepted).toBeGreaterThan(200);
    expect(rejected).toBeGreaterThan(200);
  });
});
