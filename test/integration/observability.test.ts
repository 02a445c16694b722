/**
 * Issue 17: what operators watch, on a real started Tether — the metrics added for dashboards
 * and alerts (build info, config version and apply time, refused edits by reason, DNS failures,
 * ext_proc decisions/latency/outcomes, nodes behind, the `_ratio` session share and its
 * deprecated old name), grpc.health.v1 on the xDS and ext_proc ports, and /healthz, /readyz.
 * Everything is read from outside: HTTP scrapes, the real admin API over gRPC, real ADS
 * streams, and Envoy's side of ext_proc built from the real proto.
 */
import * as fs from 'node:fs';
import * as grpc from '@grpc/grpc-js';
import { service as healthService } from 'grpc-health-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { objectToStruct } from '../../src/admin/convert';
import { createAdminClient, resolveConnection } from '../../src/cli/admin-client';
import { CliError } from '../../src/cli/errors';
import type { Replica } from '../../src/sample/replica';
import { buildInfo } from '../../src/util/build-info';
import { ADS_SERVICE_NAME } from '../../src/xds/ads-server';
import { EXT_PROC_SERVICE_NAME } from '../../src/extproc';
import { TestNode } from '../cli/harness';
import { externalProcessorClient, EnvoyStream, requestHeaders } from '../extproc/helpers';
import { samples, value } from '../metrics/exposition';
import { ADMIN_TOKEN, Harness, hello, waitFor } from '../support/harness';

const h = new Harness();
let replicas: Replica[];
const nodes: TestNode[] = [];

async function scrape(): Promise<string> {
  const res = await fetch(`http://127.0.0.1:${h.tether.metricsPort}/metrics`, { signal: AbortSignal.timeout(5000) });
  expect(res.status).toBe(200);
  return res.text();
}

async function get(path: string): Promise<{ status: number; body: string }> {
  const res = await fetch(`http://127.0.0.1:${h.tether.metricsPort}${path}`, { signal: AbortSignal.timeout(5000) });
  return { status: res.status, body: await res.text() };
}

type HealthClient = grpc.Client & {
  Check(req: { service: string }, options: grpc.CallOptions, cb: (err: grpc.ServiceError | null, res?: { status: string }) => void): void;
};

function healthStatus(port: number, service: string): Promise<string> {
  const Ctor = grpc.makeClientConstructor(healthService, 'grpc.health.v1.Health');
  const client = new Ctor(`127.0.0.1:${port}`, grpc.credentials.createInsecure()) as unknown as HealthClient;
  return new Promise<string>((resolve, reject) =>
    client.Check({ service }, { deadline: Date.now() + 5000 }, (err, res) => (err ? reject(err) : resolve(res!.status))),
  ).finally(() => client.close());
}

const config = (addresses: string[]) => ({
  listeners: [{ name: 'http', port: 10000 }],
  services: [
    {
      name: 'sticky',
      affinity: { keys: [{ header: 'x-user' }], sessionKey: { sources: [{ header: 'x-session' }] } },
      routes: [{ name: 'main', backends: [{ name: 'sticky' }] }],
    },
    { name: 'named', domains: ['named.example'], routes: [{ name: 'main', backends: [{ name: 'named' }] }] },
  ],
  backends: [
    { name: 'sticky', endpoints: addresses, balancer: { type: 'ring_hash' } },
    // A name DNS does not know: its lookups fail (counted), the backend has no endpoints.
    { name: 'named', endpoints: ['nowhere.internal:8080'] },
  ],
});

beforeAll(async () => {
  replicas = [await h.replica('r1'), await h.replica('r2'), await h.replica('r3')];
  await h.start(config(replicas.map((r) => r.address)), {
    metrics: { host: '127.0.0.1', port: 0 },
    extProc: { host: '127.0.0.1', port: 0 },
    lookup: async (host) => {
      if (host === 'nowhere.internal') throw new Error(`getaddrinfo ENOTFOUND ${host}`);
      return ['127.0.0.1'];
    },
  });
});
afterAll(async () => {
  await Promise.all(nodes.map((n) => n.close()));
  await h.close();
});

describe('metrics for dashboards and alerts', () => {
  it('build info, the served version and when it was accepted', async () => {
    const text = await scrape();
    const info = buildInfo();
    const pkg = JSON.parse(fs.readFileSync('package.json', 'utf8')) as { version: string };
    expect(info.version).toBe(pkg.version);
    expect(value(text, 'tether_build_info', { version: pkg.version, revision: info.revision, nodejs: process.version })).toBe(1);
    const current = h.tether.manager.current();
    expect(value(text, 'tether_config_version')).toBe(current.version);
    expect(value(text, 'tether_config_applied_timestamp_seconds')).toBeCloseTo(Date.parse(current.createdAt) / 1000, 3);
  });

  it('refused edits by reason and source: the admin API over gRPC and the watched file', async () => {
    const before = await scrape();
    const count = (text: string, reason: string, source: string) => samples(text, 'tether_config_rejected_total', { reason, source })[0]?.value ?? 0;
    const client = createAdminClient(resolveConnection({ server: `127.0.0.1:${h.tether.adminPort}`, token: ADMIN_TOKEN }));
    const expectRefused = async (call: Promise<unknown>, code: string) => {
      const err = await call.then(() => undefined, (e: unknown) => e);
      expect(err, 'the call must fail').toBeInstanceOf(CliError);
      expect((err as CliError).codeName).toBe(code);
    };
    try {
      const options = { dry_run: false, expected_version: '0', description: '' };
      const badBackend = objectToStruct({ name: 'sticky', endpoints: ['127.0.0.1:1'], connectTimeout: 'soon' });
      await expectRefused(client.call('UpsertBackend', { options, backend: badBackend }), 'INVALID_ARGUMENT');
      // Refused for the request itself, before any config is built: counted too.
      await expectRefused(client.call('SetSplit', { options, service: 'sticky', route: 'main', weights: { sticky: 0 } }), 'INVALID_ARGUMENT');
      await expectRefused(client.call('SetSplit', { options: { ...options, expected_version: '999' }, service: 'sticky', route: 'main', weights: { sticky: 1 } }), 'ABORTED');
      await expectRefused(client.call('DeleteService', { options, name: 'no-such-service' }), 'NOT_FOUND');
      // A dry run that fails is not an edit: not counted.
      await expectRefused(client.call('UpsertBackend', { options: { ...options, dry_run: true }, backend: badBackend }), 'INVALID_ARGUMENT');
    } finally {
      client.close();
    }
    // A save of the watched file that does not validate.
    h.writeConfig('services: [{ name: 1 }]\n');
    const after = await waitFor('the file rejection counted', async () => {
      const text = await scrape();
      return count(text, 'invalid', 'file') > count(before, 'invalid', 'file') ? text : undefined;
    });
    expect(count(after, 'invalid', 'api') - count(before, 'invalid', 'api')).toBe(2);
    expect(count(after, 'version_conflict', 'api') - count(before, 'version_conflict', 'api')).toBe(1);
    expect(count(after, 'not_found', 'api') - count(before, 'not_found', 'api')).toBe(1);
    expect(count(after, 'invalid', 'file') - count(before, 'invalid', 'file')).toBe(1);
  });

  it('DNS lookups that fail', async () => {
    const text = await scrape();
    expect(value(text, 'tether_dns_lookup_failures_total', { reason: 'error' })).toBeGreaterThanOrEqual(1);
    expect(value(text, 'tether_dns_lookup_failures_total', { reason: 'timeout' })).toBe(0);
  });

  it('nodes behind the served version: a node that ignores pushes is behind, one that ACKs is not', async () => {
    const xds = `127.0.0.1:${h.tether.xdsPort}`;
    const version = String(h.tether.manager.current().version);
    const acking = new TestNode(xds, 'acking', h.tether.cache, 'envoy');
    const ignoring = new TestNode(xds, 'ignoring', h.tether.cache, 'envoy');
    nodes.push(acking, ignoring);
    ignoring.setMode('ignore');
    const grpcClient = h.client('sticky');
    await hello(grpcClient, { 'x-user': 'alice' });
    await waitFor('the acking node applied the version', () => h.tether.registry.list().some((n) => n.nodeId === 'acking' && n.appliedConfigVersion === version));
    await waitFor('both nodes and the gRPC client connected', () => h.tether.registry.list().length >= 3);
    const text = await waitFor('one envoy node behind, no gRPC node behind', async () => {
      const t = await scrape();
      return value(t, 'tether_xds_nodes_behind', { kind: 'envoy' }) === 1 && value(t, 'tether_xds_nodes_behind', { kind: 'grpc' }) === 0 ? t : undefined;
    });
    expect(value(text, 'tether_xds_connected_nodes', { kind: 'envoy' })).toBe(2);
    // The ignoring node answers at last: nobody is behind.
    ignoring.setMode('ack');
    await waitFor('no node behind', async () => ((value(await scrape(), 'tether_xds_nodes_behind', { kind: 'envoy' }) === 0) ? true : undefined));
  });

  it('session shares under the _ratio name, and the same values under the deprecated name', async () => {
    await h.tether.metrics.sessionSharesSettled();
    const text = await scrape();
    const current = samples(text, 'tether_replica_session_share_ratio', { service: 'sticky' });
    const old = samples(text, 'tether_replica_session_share', { service: 'sticky' });
    expect(current.length).toBeGreaterThanOrEqual(3);
    expect(old).toEqual(current.map((s) => ({ ...s, name: 'tether_replica_session_share' })));
    expect(current.reduce((a, s) => a + s.value, 0)).toBeCloseTo(1, 6);
    expect(text).toMatch(/# HELP tether_replica_session_share DEPRECATED: use tether_replica_session_share_ratio/);
  });

  it('ext_proc decisions, message latency and stream outcomes', async () => {
    const before = await scrape();
    const at = (text: string, name: string, labels: Record<string, string>) => samples(text, name, labels)[0]?.value ?? 0;
    const diff = (text: string, name: string, labels: Record<string, string>) => at(text, name, labels) - at(before, name, labels);
    const client = externalProcessorClient(`127.0.0.1:${h.tether.extProcPort}`);
    try {
      const withKey = new EnvoyStream(client, { 'x-tether-service': 'sticky' });
      await withKey.send(requestHeaders({ 'x-session': 'alice' }));
      expect((await withKey.end()).code).toBe(grpc.status.OK);
      const withoutKey = new EnvoyStream(client, { 'x-tether-service': 'sticky' });
      await withoutKey.send(requestHeaders({}));
      expect((await withoutKey.end()).code).toBe(grpc.status.OK);
      // Envoy resets a stream (its message_timeout passed, or the client went away).
      const metadata = new grpc.Metadata();
      metadata.set('x-tether-service', 'sticky');
      const reset = client.Process(metadata);
      reset.on('error', () => undefined);
      reset.write(requestHeaders({ 'x-session': 'bob' }));
      await new Promise((resolve) => reset.once('data', resolve));
      reset.cancel();
      const text = await waitFor('three streams ended', async () => {
        const t = await scrape();
        return diff(t, 'tether_extproc_streams_total', { outcome: 'ok' }) === 2 && diff(t, 'tether_extproc_streams_total', { outcome: 'cancelled' }) === 1 ? t : undefined;
      });
      expect(diff(text, 'tether_extproc_decisions_total', { decision: 'key' })).toBe(2);
      expect(diff(text, 'tether_extproc_decisions_total', { decision: 'no_policy' })).toBe(0);
      expect(diff(text, 'tether_extproc_decisions_total', { decision: 'no_key' })).toBe(1);
      expect(diff(text, 'tether_extproc_keys_total', { source: 'header:x-session' })).toBe(2);
      expect(diff(text, 'tether_extproc_message_seconds_count', { phase: 'request_headers' })).toBe(3);
      expect(diff(text, 'tether_extproc_streams_total', { outcome: 'error' })).toBe(0);
      expect(value(text, 'tether_extproc_errors_total')).toBe(0);
    } finally {
      client.close();
    }
  });
});

describe('health', () => {
  it('grpc.health.v1 answers SERVING on the xDS and ext_proc ports, for the server and its service', async () => {
    expect(await healthStatus(h.tether.xdsPort, '')).toBe('SERVING');
    expect(await healthStatus(h.tether.xdsPort, ADS_SERVICE_NAME)).toBe('SERVING');
    expect(await healthStatus(h.tether.extProcPort!, '')).toBe('SERVING');
    expect(await healthStatus(h.tether.extProcPort!, EXT_PROC_SERVICE_NAME)).toBe('SERVING');
    expect(await healthStatus(h.tether.adminPort!, '')).toBe('SERVING');
    await expect(healthStatus(h.tether.xdsPort, 'no.such.Service')).rejects.toMatchObject({ code: grpc.status.NOT_FOUND });
  });

  it('/healthz and /readyz on the HTTP port', async () => {
    expect(await get('/healthz')).toEqual({ status: 200, body: 'ok\n' });
    const ready = await get('/readyz');
    expect(ready.status).toBe(200);
    expect(ready.body).toBe('[+]config ok\n[+]store ok\nreadyz check passed\n');
    expect((await get('/nothing')).status).toBe(404);
  });
});
