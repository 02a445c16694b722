import { describe, expect, it } from 'vitest';
import { translate, translateWithWarnings } from '../../src/translate';
import type { AffinityKey } from '../../src/model/types';
import { backend, backendRef, config, noEndpoints, route, service } from './fixtures';

const keys: AffinityKey[] = [
  { kind: 'header', name: 'x-user', terminal: false },
  { kind: 'cookie', name: 'sid', ttlMs: 3_600_000, path: '/', terminal: true },
  { kind: 'clientIp', terminal: false },
  { kind: 'queryParameter', name: 'user', terminal: false },
];

function actions(affinityKeys: AffinityKey[] | undefined, kind: 'envoy' | 'grpc') {
  const svc = service('s', [route('a', [backendRef('b')]), route('b', [backendRef('b', 50), backendRef('c', 50)])], affinityKeys ? { affinity: { keys: affinityKeys } } : {});
  const out = translate(config([svc], [backend('b'), backend('c')]), noEndpoints, kind);
  return out.routes[0]!.virtual_hosts![0]!.routes!.map((r) => r.route!);
}

describe('hash policy', () => {
  it('Envoy: every key in order, with terminal, on every route action', () => {
    const expected = [
      { header: { header_name: 'x-user' } },
      { cookie: { name: 'sid', ttl: { seconds: '3600' }, path: '/' }, terminal: true },
      { connection_properties: { source_ip: true } },
      { query_parameter: { name: 'user' } },
    ];
    for (const action of actions(keys, 'envoy')) expect(action.hash_policy).toEqual(expected);
  });

  it('cookie ttl: absent → no ttl (hash only), 0 → empty Duration (session cookie)', () => {
    const [noTtl] = actions([{ kind: 'cookie', name: 'c', terminal: false }], 'envoy');
    expect(noTtl!.hash_policy).toEqual([{ cookie: { name: 'c' } }]);
    const [zero] = actions([{ kind: 'cookie', name: 'c', ttlMs: 0, terminal: false }], 'envoy');
    expect(zero!.hash_policy).toEqual([{ cookie: { name: 'c', ttl: {} } }]);
  });

  it('no affinity → no hash_policy', () => {
    for (const action of actions(undefined, 'envoy')) expect(action.hash_policy).toBeUndefined();
  });

  it('gRPC: header keys only, one warning per service naming what was dropped', () => {
    for (const action of actions(keys, 'grpc')) expect(action.hash_policy).toEqual([{ header: { header_name: 'x-user' } }]);
    const svc = service('s', [route('a', [backendRef('b')])], { affinity: { keys } });
    const { warnings } = translateWithWarnings(config([svc], [backend('b')]), noEndpoints, 'grpc');
    expect(warnings).toEqual([{ path: 'services[s].affinity', message: expect.stringContaining('cookie, clientIp, queryParameter') }]);
  });

  it('gRPC with no header key: no hash_policy, and the warning says picks are not sticky', () => {
    const only = [{ kind: 'cookie', name: 'c', terminal: false }] as AffinityKey[];
    for (const action of actions(only, 'grpc')) expect(action.hash_policy).toBeUndefined();
    const svc = service('s', [route('a', [backendRef('b')])], { affinity: { keys: only } });
    const { warnings } = translateWithWarnings(config([svc], [backend('b')]), noEndpoints, 'grpc');
    expect(warnings[0]?.message).toMatch(/not sticky/);
  });
});
