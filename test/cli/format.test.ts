import { describe, expect, it } from 'vitest';
import type { GetStatusResponse__Output, ListVersionsResponse__Output, MutationResponse__Output, NodeInfo__Output } from '../../src/cli/admin-client';
import { formatHistory, formatMutation, formatProgress, formatWarningLines, formatStatus, formatTimestamp, jsonView, renderTable, shortVersion } from '../../src/cli/format';

const ts = (iso: string) => ({ seconds: String(Date.parse(iso) / 1000), nanos: 0 });

function node(overrides: Partial<NodeInfo__Output>): NodeInfo__Output {
  return {
    node_id: 'envoy-1',
    cluster: 'edge',
    kind: 'envoy',
    user_agent: 'envoy/1.31',
    applied_version: '3',
    connected_at: ts('2026-01-02T03:04:05Z'),
    stream_id: '1',
    types: [],
    instance: '',
    ...overrides,
  };
}

describe('renderTable', () => {
  it('aligns columns two spaces apart and trims trailing blanks', () => {
    expect(renderTable(['A', 'LONGER', 'C'], [['xyz', '1', ''], ['q', '22', 'last']])).toBe(
      ['A    LONGER  C', 'xyz  1', 'q    22      last', ''].join('\n'),
    );
  });
});

describe('mutation output', () => {
  const base: MutationResponse__Output = { version: '4', changed: true, dry_run: false, changes: [], restores: '0', warnings: [] };
  const changes: MutationResponse__Output['changes'] = [
    { node_kind: 'envoy', type: 'CDS', name: 'shop-v2', action: 'ADDED', diff: '' },
    { node_kind: 'grpc', type: 'EDS', name: 'shop-v0', action: 'REMOVED', diff: '' },
    { node_kind: 'envoy', type: 'RDS', name: 'shop', action: 'MODIFIED', diff: '--- a\n+++ b\n@@ -1 +1 @@\n-weight: 100\n+weight: 90\n' },
  ];

  it('applied, no change', () => {
    expect(formatMutation(base)).toBe('applied version 4\n');
    expect(formatMutation({ ...base, changes })).toBe('+ envoy CDS shop-v2\n- grpc EDS shop-v0\n~ envoy RDS shop\napplied version 4\n');
    expect(formatMutation({ ...base, changed: false })).toBe('no change (version 4)\n');
    expect(formatMutation({ ...base, restores: '2' })).toBe('applied version 4 (the config of version 2)\n');
    expect(formatMutation({ ...base, changed: false, restores: '4' })).toBe('no change (version 4 already has the config of version 4)\n');
  });

  it('dry run: every change with its unified diff, and the version unchanged', () => {
    expect(formatMutation({ ...base, changed: false, dry_run: true, changes })).toBe(
      [
        '+ envoy CDS shop-v2',
        '- grpc EDS shop-v0',
        '~ envoy RDS shop',
        '--- a',
        '+++ b',
        '@@ -1 +1 @@',
        '-weight: 100',
        '+weight: 90',
        'dry run: 3 resource changes; version 4 unchanged',
        '',
      ].join('\n'),
    );
    expect(formatMutation({ ...base, changed: false, dry_run: true })).toBe('dry run: no change (version 4)\n');
  });

  it('translation warnings: one line each, kind and path first; none → nothing', () => {
    expect(formatWarningLines([])).toBe('');
    expect(
      formatWarningLines([
        { node_kind: 'grpc', path: 'services[chat].affinity.sessionKey', message: 'gRPC clients have no ext_proc' },
        { node_kind: 'envoy', path: '', message: 'general' },
      ]),
    ).toBe('warning: [grpc] services[chat].affinity.sessionKey: gRPC clients have no ext_proc\nwarning: [envoy] general\n');
  });
});

describe('status and history tables', () => {
  it('status: one row per stream, acked versions shortened, NACK errors', () => {
    const res: GetStatusResponse__Output = {
      store: '/data',
      stale: '',
      instance: '',
      current_version: '3',
      nodes: [
        node({
          types: [
            { type: 'LDS', sent_version: 'aaaaaaaaaaaaaaaa', acked_version: 'aaaaaaaaaaaaaaaa', last_nack: null },
            { type: 'CDS', sent_version: 'bbbbbbbbbbbbbbbb', acked_version: 'cccccccccccccccc', last_nack: { version: 'bbbbbbbbbbbbbbbb', error: 'bad cluster', at: null } },
          ],
        }),
        node({ node_id: 'grpc-client-1', kind: 'grpc', stream_id: '2', applied_version: '0' }),
      ],
    };
    expect(formatStatus(res)).toBe(
      [
        'current version 3; 2 streams',
        'NODE           KIND   STREAM  APPLIED  LDS       RDS  CDS       EDS  NACK',
        'envoy-1        envoy  1       3        aaaaaaaa  -    cccccccc  -    CDS: bad cluster',
        'grpc-client-1  grpc   2       -        -         -    -         -',
        '',
      ].join('\n'),
    );
    expect(formatStatus({ current_version: '1', nodes: [], store: '', stale: '', instance: '' })).toBe('current version 1; 0 streams\n');
  });

  it('status of several instances: which instance each stream is on, and a stale instance says why', () => {
    const res: GetStatusResponse__Output = {
      current_version: '7',
      store: 'etcd://127.0.0.1:2379/tether',
      stale: 'stale since 2026-12-06T01:00:00.000Z: etcd is unavailable',
      instance: 'a',
      nodes: [node({ applied_version: '7', instance: 'a' }), node({ node_id: 'envoy-2', stream_id: 'b/4', applied_version: '7', instance: 'b' })],
    };
    expect(formatStatus(res)).toBe(
      [
        'current version 7 (instance a, etcd://127.0.0.1:2379/tether); 2 streams',
        'STALE: this instance refuses edits and serves its last version: stale since 2026-12-06T01:00:00.000Z: etcd is unavailable',
        'NODE     KIND   STREAM  APPLIED  LDS  RDS  CDS  EDS  NACK  INSTANCE',
        'envoy-1  envoy  1       7        -    -    -    -          a',
        'envoy-2  envoy  b/4     7        -    -    -    -          b',
        '',
      ].join('\n'),
    );
  });

  it('history: newest first, current marked', () => {
    const res: ListVersionsResponse__Output = {
      current_version: '2',
      versions: [
        { version: '2', created_at: ts('2026-01-02T03:04:05Z'), source: 'apply', description: 'canary 10%', content_hash: '0123456789abcdef', restores: '0', author: 'token:1a2b3c4d' },
        { version: '1', created_at: ts('2026-01-01T00:00:00Z'), source: 'file', description: '', content_hash: 'fedcba9876543210', restores: '0', author: '' },
      ],
    };
    expect(formatHistory(res)).toBe(
      [
        '  VERSION  CREATED               SOURCE  BY              HASH      DESCRIPTION',
        '* 2        2026-01-02T03:04:05Z  apply   token:1a2b3c4d  01234567  canary 10%',
        '  1        2026-01-01T00:00:00Z  file    -               fedcba98',
        '',
      ].join('\n'),
    );
  });

  it('rollout progress lines', () => {
    expect(formatProgress({ state: 'WAITING', version: '5', applied: ['a'], pending: ['b', 'c'], nacked: [], done: false, connected: 2 })).toBe(
      'waiting: version 5, 1/3 applied; pending: b, c',
    );
    expect(formatProgress({ state: 'TIMED_OUT', version: '5', applied: [], pending: ['b'], nacked: [node({ node_id: 'x' })], done: true, connected: 1 })).toBe(
      'timed out: version 5, 0/1 applied; pending: b; nacked: x',
    );
    expect(formatProgress({ state: 'WAITING', version: '5', applied: ['a'], pending: [], nacked: [], done: false, connected: 1 }, 3)).toBe(
      'waiting: version 5, 1/1 applied; 1 node connected, at least 3 needed (--min-nodes)',
    );
  });
});

describe('JSON view and small helpers', () => {
  it('turns Timestamps into RFC 3339 and leaves the rest alone', () => {
    expect(jsonView({ version: '2', at: ts('2026-01-02T03:04:05Z'), list: [{ when: { seconds: '0', nanos: 0 } }], n: null })).toEqual({
      version: '2',
      at: '2026-01-02T03:04:05Z',
      list: [{ when: null }],
      n: null,
    });
    expect(formatTimestamp({ seconds: '1767323045', nanos: 250_000_000 })).toBe('2026-01-02T03:04:05.250Z');
    expect(formatTimestamp(null)).toBe('');
  });

  it('shortVersion', () => {
    expect(shortVersion('0123456789abcdef')).toBe('01234567');
    expect(shortVersion('7')).toBe('7');
    expect(shortVersion('')).toBe('-');
  });
});
