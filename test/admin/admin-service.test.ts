import { createHash } from 'node:crypto';
import * as grpc from '@grpc/grpc-js';
import pino from 'pino';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { objectToStruct, structToObject } from '../../src/admin/convert';
import { startAdminServer } from '../../src/admin/server';
import { createAdminClient } from '../../src/admin/admin-proto';
import type { FieldError } from '../../src/config';
import type { ConfigManagerApi } from '../../src/control/types';
import { NodeRegistry } from '../../src/xds/node-status';
import type { Struct__Output } from '../../src/generated/tether/google/protobuf/Struct';
import { AdminHarness, adminApi, badRequest, baseConfig, failure, TOKEN } from './harness';

function plain(struct: Struct__Output | null): Record<string, unknown> {
  const errors: FieldError[] = [];
  const out = structToObject(struct, [], errors);
  expect(errors).toEqual([]);
  return out;
}

const s = (doc: Record<string, unknown>) => objectToStruct(doc);

let h: AdminHarness;
// One server for the file; each test starts from the base config (a fresh harness is ~100 ms).
beforeEach(async () => {
  await h?.close();
  h = await AdminHarness.start();
});
afterAll(async () => {
  await h?.close();
});

describe('reading', () => {
  it('GetConfig returns the version, the document as a Struct and as YAML, and when it was applied', async () => {
    const before = Date.now();
    const res = await h.api.GetConfig();
    expect(res.version).toBe('1');
    expect(plain(res.config)).toEqual(baseConfig());
    expect(res.yaml).toMatch(/^listeners:\n {2}- name: http\n/);
    expect(res.yaml).toContain('          - name: shop-v2\n            weight: 10\n');
    const appliedAt = Number(res.applied_at!.seconds) * 1000;
    expect(appliedAt).toBeLessThanOrEqual(before + 1000);
    expect(appliedAt).toBeGreaterThan(before - 60_000);
  });

  it('ListVersions lists versions newest first with source, description and content hash', async () => {
    await h.api.SetSplit({ service: 'shop', route: 'main', weights: { 'shop-v1': 50, 'shop-v2': 50 }, options: { description: 'half/half' } });
    const res = await h.api.ListVersions();
    expect(res.current_version).toBe('2');
    expect(res.versions.map((v) => [v.version, v.source, v.description])).toEqual([
      ['2', 'set-split', 'split shop/main: shop-v1=50 shop-v2=50 — half/half'],
      ['1', 'test', ''],
    ]);
    expect(res.versions[0]!.content_hash).not.toBe(res.versions[1]!.content_hash);
    expect(Number(res.versions[0]!.created_at!.seconds)).toBeGreaterThan(0);
    // Who made it: a fingerprint of the caller's token (never the token); nothing for the seed.
    const fingerprint = createHash('sha256').update(TOKEN).digest('hex').slice(0, 8);
    expect(res.versions.map((v) => v.author)).toEqual([`token:${fingerprint}`, '']);
  });

  it('GetStatus with no node connected', async () => {
    expect(await h.api.GetStatus({})).toEqual({ current_version: '1', nodes: [], store: '', stale: '', instance: '' });
    expect(await h.api.GetStatus({ node_kind: 'grpc' })).toEqual({ current_version: '1', nodes: [], store: '', stale: '', instance: '' });
  });
});

describe('ApplyConfig', () => {
  it('replaces the config, returning the new version and the Envoy resources that change', async () => {
    const next = baseConfig();
    (next.backends as Record<string, unknown>[])[2] = { name: 'search-v1', endpoints: ['127.0.0.1:9002'] };
    const res = await h.api.ApplyConfig({ config: s(next), options: { description: 'move search' } });
    expect(res).toMatchObject({ version: '2', changed: true, dry_run: false });
    expect(res.changes).toContainEqual({ node_kind: 'envoy', type: 'EDS', name: 'search-v1', action: 'MODIFIED', diff: expect.stringContaining('9002') });
    expect(h.version()).toBe(2);
    expect(plain((await h.api.GetConfig()).config)).toEqual(next);
    // The same config again: nothing new.
    expect(await h.api.ApplyConfig({ config: s(next) })).toMatchObject({ version: '2', changed: false, changes: [] });
  });

  it('dry_run validates and diffs without changing anything', async () => {
    const next = baseConfig();
    (next.services as unknown[]).pop();
    const res = await h.api.ApplyConfig({ config: s(next), options: { dry_run: true } });
    expect(res).toMatchObject({ version: '1', changed: false, dry_run: true });
    expect(res.changes).toContainEqual(expect.objectContaining({ node_kind: 'grpc', type: 'LDS', name: 'search', action: 'REMOVED' }));
    expect(h.version()).toBe(1);
  });

  it('takes YAML or JSON text when no Struct is given', async () => {
    const yaml = (await h.api.GetConfig()).yaml.replace('weight: 90', 'weight: 80');
    expect(await h.api.ApplyConfig({ text: yaml })).toMatchObject({ version: '2', changed: true });
    const json = JSON.stringify(baseConfig());
    expect(await h.api.ApplyConfig({ text: json })).toMatchObject({ version: '3', changed: true });
  });

  it('honours expected_version (ABORTED when stale)', async () => {
    const next = baseConfig();
    (next.listeners as Record<string, unknown>[])[0]!.port = 10001;
    const err = await failure(h.api.ApplyConfig({ config: s(next), options: { expected_version: 7 } }));
    expect(err.code).toBe(grpc.status.ABORTED);
    expect(err.details).toBe('expected version 7, but the current version is 1');
    expect(h.version()).toBe(1);
    expect(await h.api.ApplyConfig({ config: s(next), options: { expected_version: 1 } })).toMatchObject({ version: '2' });
  });

  it('rejects an invalid config with every error as INVALID_ARGUMENT and BadRequest details', async () => {
    const bad = baseConfig();
    (bad.listeners as Record<string, unknown>[])[0]!.port = 70000;
    (bad.services as Record<string, unknown>[])[0]!.routes = [{ name: 'main', backends: [{ name: 'nope' }] }];
    const err = await failure(h.api.ApplyConfig({ config: s(bad) }));
    expect(err.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(err.details).toMatch(/^invalid config:\n/);
    const { status, violations } = badRequest(err);
    expect(status).toEqual({ code: grpc.status.INVALID_ARGUMENT, message: err.details });
    expect(violations.map((v) => v.field)).toEqual(expect.arrayContaining(['listeners[0].port', 'services[0].routes[0].backends[0].name']));
    for (const v of violations) expect(err.details).toContain(`${v.field}: ${v.description}`);
    expect(h.version()).toBe(1);
  });

  it('names the request field when neither config nor text is given, or the text does not parse', async () => {
    let err = await failure(h.api.ApplyConfig({}));
    expect(err.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(badRequest(err).violations).toEqual([{ field: 'config', description: expect.stringMatching(/^required/) }]);
    err = await failure(h.api.ApplyConfig({ text: 'services: [unclosed' }));
    expect(err.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(badRequest(err).violations).toEqual([{ field: 'text', description: expect.stringMatching(/text:1:\d+/) }]);
    err = await failure(h.api.ApplyConfig({ text: `# ${'x'.repeat(1024 * 1024)}\n` }));
    expect(badRequest(err).violations).toEqual([{ field: 'text', description: expect.stringMatching(/^at most 1048576 bytes/) }]);
    err = await failure(h.api.ApplyConfig({ config: { fields: { bad: { numberValue: NaN } } } }));
    expect(badRequest(err).violations).toEqual([{ field: 'config.bad', description: 'must be a finite number, got NaN' }]);
    expect(h.version()).toBe(1);
  });

  it('keeps error trailers bounded when a config has hundreds of errors', async () => {
    const bad = baseConfig();
    bad.backends = Array.from({ length: 400 }, (_, i) => ({ name: `b${i}`, endpoints: [`not an address ${i}`] }));
    const err = await failure(h.api.ApplyConfig({ config: s(bad) }));
    expect(err.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(err.details.length).toBeLessThan(4200);
    const { violations } = badRequest(err);
    expect(violations.length).toBeGreaterThan(20);
    expect(violations.at(-1)!.description).toMatch(/^… and \d+ more errors$/);
  });
});

describe('services, routes and backends', () => {
  it('UpsertService adds a service or replaces the one of the same name', async () => {
    const added = await h.api.UpsertService({ service: s({ name: 'cart', domains: ['cart.example.com'], routes: [{ backends: [{ name: 'shop-v1' }] }] }) });
    expect(added).toMatchObject({ version: '2', changed: true });
    expect(added.changes).toContainEqual(expect.objectContaining({ node_kind: 'grpc', type: 'LDS', name: 'cart', action: 'ADDED' }));
    const replaced = await h.api.UpsertService({ service: s({ name: 'cart', domains: ['cart.example.com'], routes: [{ backends: [{ name: 'shop-v2' }] }] }) });
    expect(replaced).toMatchObject({ version: '3', changed: true });
    const services = plain((await h.api.GetConfig()).config).services as { name: string }[];
    expect(services.map((x) => x.name)).toEqual(['shop', 'search', 'cart']);
  });

  it('UpsertService points validation errors at the request (service.…), and requires a name', async () => {
    let err = await failure(h.api.UpsertService({ service: s({ name: 'cart', domains: ['cart.example.com'], routes: [{ backends: [{ name: 'ghost' }] }] }) }));
    expect(err.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(badRequest(err).violations.map((v) => v.field)).toEqual(['service.routes[0].backends[0].name']);
    err = await failure(h.api.UpsertService({ service: s({ routes: [] }) }));
    expect(badRequest(err).violations).toEqual([{ field: 'service.name', description: 'required' }]);
    err = await failure(h.api.UpsertService({}));
    expect(badRequest(err).violations).toEqual([{ field: 'service', description: 'required' }]);
    expect(h.version()).toBe(1);
  });

  it('DeleteService: removes it; unknown → NOT_FOUND; empty → INVALID_ARGUMENT', async () => {
    expect(await h.api.DeleteService({ name: 'search' })).toMatchObject({ version: '2', changed: true });
    let err = await failure(h.api.DeleteService({ name: 'search' }));
    expect(err.code).toBe(grpc.status.NOT_FOUND);
    expect(err.details).toMatch(/unknown service 'search'/);
    err = await failure(h.api.DeleteService({ name: '' }));
    expect(err.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(badRequest(err).violations).toEqual([{ field: 'name', description: 'required' }]);
    err = await failure(h.api.DeleteService({ name: 'Not_A_Name' }));
    expect(badRequest(err).violations).toEqual([{ field: 'name', description: expect.stringMatching(/is not a valid name/) }]);
    expect(h.version()).toBe(2);
  });

  it('UpsertRoute inserts at a position or replaces by name; DeleteRoute refuses the last route', async () => {
    const route = { name: 'beta', match: { headers: { 'x-beta': { exact: '1' } } }, backends: [{ name: 'shop-v2' }] };
    expect(await h.api.UpsertRoute({ service: 'shop', route: s(route), position: 0 })).toMatchObject({ version: '2', changed: true });
    let routes = (plain((await h.api.GetConfig()).config).services as { routes: { name: string }[] }[])[0]!.routes;
    expect(routes.map((r) => r.name)).toEqual(['beta', 'main']);
    expect(await h.api.UpsertRoute({ service: 'shop', route: s({ ...route, backends: [{ name: 'shop-v1' }] }), position: 5 })).toMatchObject({ version: '3' });
    routes = (plain((await h.api.GetConfig()).config).services as { routes: { name: string }[] }[])[0]!.routes;
    expect(routes.map((r) => r.name)).toEqual(['beta', 'main']);

    let err = await failure(h.api.UpsertRoute({ service: 'shop', route: s({ ...route, name: 'gamma' }), position: 9 }));
    expect(err.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(badRequest(err).violations.map((v) => v.field)).toEqual(['position']);
    err = await failure(h.api.UpsertRoute({ service: 'nope', route: s(route) }));
    expect(err.code).toBe(grpc.status.NOT_FOUND);
    err = await failure(h.api.UpsertRoute({ service: '', route: s(route) }));
    expect(badRequest(err).violations).toEqual([{ field: 'service', description: 'required' }]);

    expect(await h.api.DeleteRoute({ service: 'shop', route: 'beta' })).toMatchObject({ version: '4' });
    err = await failure(h.api.DeleteRoute({ service: 'shop', route: 'main' }));
    expect(err.code).toBe(grpc.status.FAILED_PRECONDITION);
    expect(err.details).toMatch(/last route/);
    err = await failure(h.api.DeleteRoute({ service: 'shop', route: 'beta' }));
    expect(err.code).toBe(grpc.status.NOT_FOUND);
    err = await failure(h.api.DeleteRoute({ service: 'shop' }));
    expect(badRequest(err).violations).toEqual([{ field: 'route', description: 'required' }]);
    expect(h.version()).toBe(4);
  });

  it('UpsertBackend / DeleteBackend: a backend still in use cannot go (FAILED_PRECONDITION)', async () => {
    expect(await h.api.UpsertBackend({ backend: s({ name: 'spare', endpoints: ['127.0.0.1:7000'] }) })).toMatchObject({ version: '2' });
    let err = await failure(h.api.UpsertBackend({ backend: s({ name: 'spare', endpoints: [] }) }));
    expect(err.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(badRequest(err).violations.map((v) => v.field)).toEqual(['backend.endpoints']);
    err = await failure(h.api.DeleteBackend({ name: 'shop-v2' }));
    expect(err.code).toBe(grpc.status.FAILED_PRECONDITION);
    expect(err.details).toBe("backend 'shop-v2' is still used by route shop/main");
    expect(await h.api.DeleteBackend({ name: 'spare' })).toMatchObject({ version: '3' });
    err = await failure(h.api.DeleteBackend({ name: 'spare' }));
    expect(err.code).toBe(grpc.status.NOT_FOUND);
  });
});

describe('traffic shifting and history', () => {
  it('SetSplit sets a route\'s weights; the only route may be left unnamed', async () => {
    const res = await h.api.SetSplit({ service: 'shop', weights: { 'shop-v1': 0, 'shop-v2': 100 } });
    expect(res).toMatchObject({ version: '2', changed: true });
    expect(res.changes).toContainEqual(expect.objectContaining({ type: 'RDS', action: 'MODIFIED' }));
    const route = (plain((await h.api.GetConfig()).config).services as { routes: { backends: unknown[] }[] }[])[0]!.routes[0]!;
    expect(route.backends).toEqual([
      { name: 'shop-v1', weight: 0 },
      { name: 'shop-v2', weight: 100 },
    ]);
  });

  it('SetSplit errors: every problem of the request at once, unknown backend, unknown route', async () => {
    let err = await failure(h.api.SetSplit({ service: '', weights: {} }));
    expect(badRequest(err).violations).toEqual([
      { field: 'service', description: 'required' },
      { field: 'weights', description: expect.stringMatching(/^required/) },
    ]);
    err = await failure(h.api.SetSplit({ service: 'shop', weights: { 'shop-v1': 0 } }));
    expect(badRequest(err).violations).toEqual([{ field: 'weights', description: 'the weights must add up to more than 0' }]);
    err = await failure(h.api.SetSplit({ service: 'shop', weights: { 'Bad Name': 1 } }));
    expect(badRequest(err).violations).toEqual([{ field: 'weights["Bad Name"]', description: expect.stringMatching(/not a valid name/) }]);
    err = await failure(h.api.SetSplit({ service: 'shop', weights: { ghost: 1 } }));
    expect(err.code).toBe(grpc.status.NOT_FOUND);
    err = await failure(h.api.SetSplit({ service: 'shop', route: 'other', weights: { 'shop-v1': 1 } }));
    expect(err.code).toBe(grpc.status.NOT_FOUND);
    expect(h.version()).toBe(1);
  });

  it('Promote sends a service\'s traffic to one backend', async () => {
    expect(await h.api.Promote({ service: 'shop', backend: 'shop-v2' })).toMatchObject({ version: '2', changed: true });
    const route = (plain((await h.api.GetConfig()).config).services as { routes: { backends: unknown[] }[] }[])[0]!.routes[0]!;
    expect(route.backends).toEqual([{ name: 'shop-v2' }]);
    let err = await failure(h.api.Promote({ service: 'search', backend: 'shop-v1' }));
    expect(err.code).toBe(grpc.status.NOT_FOUND);
    err = await failure(h.api.Promote({ service: 'shop' }));
    expect(badRequest(err).violations).toEqual([{ field: 'backend', description: 'required' }]);
  });

  it('Rollback restores an earlier version as a new one; unknown versions are NOT_FOUND', async () => {
    await h.api.Promote({ service: 'shop', backend: 'shop-v2' });
    await h.api.DeleteService({ name: 'search' });
    expect(await h.api.Rollback({})).toMatchObject({ version: '4', changed: true, restores: '2' });
    expect((plain((await h.api.GetConfig()).config).services as unknown[]).length).toBe(2);
    expect(await h.api.Rollback({ to_version: 1, options: { description: 'back to start' } })).toMatchObject({ version: '5' });
    expect(plain((await h.api.GetConfig()).config)).toEqual(baseConfig());
    expect((await h.api.ListVersions()).versions[0]).toMatchObject({ version: '5', source: 'rollback', description: 'rollback to v1 — back to start', restores: '1' });
    const err = await failure(h.api.Rollback({ to_version: 99 }));
    expect(err.code).toBe(grpc.status.NOT_FOUND);
    const stale = await failure(h.api.Rollback({ to_version: 1, options: { expected_version: 4 } }));
    expect(stale.code).toBe(grpc.status.ABORTED);
    const huge = await failure(h.api.Rollback({ to_version: '18446744073709551615' }));
    expect(badRequest(huge).violations).toEqual([{ field: 'to_version', description: expect.stringMatching(/out of range/) }]);
    expect(h.version()).toBe(5);
  });
});

describe('endpoints', () => {
  it('AddEndpoint / DrainEndpoint / RemoveEndpoint', async () => {
    expect(await h.api.AddEndpoint({ backend: 'shop-v2', address: '127.0.0.1:8084', weight: 3 })).toMatchObject({ version: '2', changed: true });
    expect(await h.api.AddEndpoint({ backend: 'shop-v2', address: '127.0.0.1:8084', weight: 3 })).toMatchObject({ version: '2', changed: false });
    expect(await h.api.DrainEndpoint({ backend: 'shop-v2', address: '127.0.0.1:8083' })).toMatchObject({ version: '3', changed: true });
    let backend = (plain((await h.api.GetConfig()).config).backends as { name: string; endpoints: unknown[] }[])[1]!;
    expect(backend.endpoints).toEqual([{ address: '127.0.0.1:8083', drain: true }, { address: '127.0.0.1:8084', weight: 3 }]);
    expect(await h.api.RemoveEndpoint({ backend: 'shop-v2', address: '127.0.0.1:8083' })).toMatchObject({ version: '4' });
    backend = (plain((await h.api.GetConfig()).config).backends as { name: string; endpoints: unknown[] }[])[1]!;
    expect(backend.endpoints).toEqual([{ address: '127.0.0.1:8084', weight: 3 }]);
  });

  it('endpoint errors: bad address, unknown backend or address, the last endpoint', async () => {
    let err = await failure(h.api.AddEndpoint({ backend: 'shop-v2', address: 'no-port' }));
    expect(err.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(badRequest(err).violations).toEqual([{ field: 'address', description: 'missing port (e.g. no-port:8080)' }]);
    err = await failure(h.api.AddEndpoint({ backend: '', address: '' }));
    expect(badRequest(err).violations).toEqual([
      { field: 'backend', description: 'required' },
      { field: 'address', description: 'required' },
    ]);
    err = await failure(h.api.AddEndpoint({ backend: 'ghost', address: '127.0.0.1:1' }));
    expect(err.code).toBe(grpc.status.NOT_FOUND);
    err = await failure(h.api.RemoveEndpoint({ backend: 'shop-v2', address: '127.0.0.1:1' }));
    expect(err.code).toBe(grpc.status.NOT_FOUND);
    err = await failure(h.api.RemoveEndpoint({ backend: 'shop-v2', address: '127.0.0.1:8083', weight: 2 }));
    expect(badRequest(err).violations).toEqual([{ field: 'weight', description: 'only AddEndpoint takes a weight' }]);
    err = await failure(h.api.RemoveEndpoint({ backend: 'shop-v2', address: '127.0.0.1:8083' }));
    expect(err.code).toBe(grpc.status.FAILED_PRECONDITION);
    err = await failure(h.api.DrainEndpoint({ backend: 'search-v1', address: '[::1]:9001' }));
    expect(err.code).toBe(grpc.status.NOT_FOUND);
    expect(h.version()).toBe(1);
  });

  it('AddEndpoint grpc_port: the endpoint grpcPort gRPC nodes get; validated, and only on AddEndpoint', async () => {
    expect(await h.api.AddEndpoint({ backend: 'shop-v2', address: '127.0.0.1:8084', grpc_port: 9084 })).toMatchObject({ version: '2', changed: true });
    const backend = (plain((await h.api.GetConfig()).config).backends as { name: string; endpoints: unknown[] }[])[1]!;
    expect(backend.endpoints).toEqual(['127.0.0.1:8083', { address: '127.0.0.1:8084', grpcPort: 9084 }]);
    let err = await failure(h.api.AddEndpoint({ backend: 'shop-v2', address: '127.0.0.1:8085', grpc_port: 70000 }));
    expect(badRequest(err).violations).toEqual([{ field: 'grpc_port', description: 'must be a port number from 1 to 65535 (or 0 for none)' }]);
    err = await failure(h.api.DrainEndpoint({ backend: 'shop-v2', address: '127.0.0.1:8084', grpc_port: 9084 }));
    expect(badRequest(err).violations).toEqual([{ field: 'grpc_port', description: 'only AddEndpoint takes a gRPC port' }]);
    // gRPC clients would reach 127.0.0.1:8083 twice.
    err = await failure(h.api.AddEndpoint({ backend: 'shop-v2', address: '127.0.0.1:8086', grpc_port: 8083 }));
    expect(err.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(badRequest(err).violations).toEqual([{ field: 'grpc_port', description: 'gRPC clients would reach it at the same address as endpoints[0] (port 8083)' }]);
    expect(h.version()).toBe(2);
  });
});

describe('unexpected failures', () => {
  it('turn into INTERNAL with a generic message; the real error is logged, the server keeps serving', async () => {
    const lines: Record<string, unknown>[] = [];
    const logger = pino({ level: 'info' }, { write: (line: string) => void lines.push(JSON.parse(line) as Record<string, unknown>) });
    let broken = true;
    const manager: ConfigManagerApi = {
      current: () => {
        if (broken) throw new Error('disk on fire at /secret/path');
        return { version: 3, document: {}, config: {} as never, createdAt: new Date().toISOString() };
      },
      apply: () => Promise.reject(new TypeError('boom')),
      mutate: () => Promise.reject(new Error('boom')),
      rollback: () => Promise.reject(new Error('boom')),
      history: () => Promise.resolve([]),
    };
    const server = await startAdminServer({ manager, registry: new NodeRegistry(), logger, port: 0, auth: { mode: 'none' } });
    const client = createAdminClient(`127.0.0.1:${server.port}`);
    try {
      const api = adminApi(client);
      for (const call of [api.GetConfig(), api.ListVersions(), api.ApplyConfig({ config: s(baseConfig()) }), api.DeleteService({ name: 'x' })]) {
        const err = await failure(call);
        expect(err.code).toBe(grpc.status.INTERNAL);
        expect(err.details).toBe('internal error; see the server log');
      }
      expect(lines.filter((l) => l.msg === 'admin call failed with an internal error').map((l) => (l.err as { message: string }).message)).toEqual([
        'disk on fire at /secret/path',
        'disk on fire at /secret/path',
        'boom',
        'boom',
      ]);
      broken = false;
      expect(await api.GetConfig()).toMatchObject({ version: '3' });
    } finally {
      client.close();
      await server.close();
    }
  });
});
