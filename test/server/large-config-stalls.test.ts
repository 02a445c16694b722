/**
 * Issue 13 for large configs, at 2,000 services of the xDS benchmark's config (the bench,
 * bench/loop-stalls-10k.ts, measures 10,000; this size keeps the test in seconds): GetConfig's
 * Struct and YAML, and a large ApplyConfig's decoding and Struct conversion, do not hold the
 * event loop (they held it ~0.4 s here, 2.2 s at 10,000 services). The document's JSON is
 * written and read in turns, the rest is done on the compute worker (src/admin/large-messages.ts).
 * A whole config with mistakes is validated in turns too, every mistake named
 * (src/config/whole-validation.ts; it held the loop ~0.3–0.9 s here in one step).
 *
 * The client's side is kept off the measured loop: GetConfig is read as raw bytes and decoded
 * after the watch (grpc-js would decode the whole Struct in this same thread).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify as toYaml } from 'yaml';
import { adminProto } from '../../src/admin/admin-proto';
import { APPLY_REQUEST } from '../../src/admin/config-wire';
import { objectToStruct, structToObjectOrThrow } from '../../src/admin/convert';
import { convertedConfig, decodedRequest } from '../../src/admin/large-messages';
import { DEFERRED_DECODE_BYTES, strictDeserializer } from '../../src/admin/request-decoding';
import { computePool } from '../../src/compute';
import type { Struct__Output } from '../../src/generated/tether/google/protobuf/Struct';
import { configDocument } from '../../bench/xds/config-gen';
import * as grpc from '@grpc/grpc-js';
import { validateConfig } from '../../src/config';
import { AdminHarness, badRequest, bearer, failure } from '../admin/harness';
import { describeStalls, LOOP_HOLD_BOUND_MS, LOOP_HOLD_MARGIN_MS, withLoopWatch, type LoopStalls } from '../support/loop-stalls';

const HOLD_LIMIT_MS = LOOP_HOLD_BOUND_MS + LOOP_HOLD_MARGIN_MS;
const SERVICES = 2000;

type Serializer = { serialize(v: unknown): Buffer; deserialize(b: Buffer): unknown };
const messageType = (name: string) => (adminProto() as unknown as Record<string, Serializer>)[name]!;

function expectHeld(label: string, stalls: LoopStalls): void {
  console.log(`${label}: ${describeStalls(stalls)}`);
  expect(stalls.maxHoldMs, label).toBeLessThanOrEqual(HOLD_LIMIT_MS);
}

describe(`the event loop stays free with ${SERVICES} services`, () => {
  let h: AdminHarness;
  const doc = configDocument(SERVICES);
  beforeAll(async () => {
    h = await AdminHarness.start({ config: doc });
    // The worker's first start (compiling the sources under vitest) is not what is measured.
    await computePool().configResponse('{}', 1, new Date(0).toISOString());
  }, 120_000);
  afterAll(async () => {
    await h?.close();
  });

  it('GetConfig (Struct + YAML)', { timeout: 60_000 }, async () => {
    const raw = h.rawClient();
    const { result: bytes, stalls } = await withLoopWatch(
      () =>
        new Promise<Buffer>((resolve, reject) =>
          raw.makeUnaryRequest('/tether.admin.v1.Admin/GetConfig', (b: Buffer) => b, (b: Buffer) => b, Buffer.alloc(0), bearer(), { deadline: Date.now() + 60_000 }, (err, res) =>
            err ? reject(err) : resolve(res!),
          ),
        ),
    );
    expectHeld(`GetConfig, ${SERVICES} services (${bytes.length} bytes)`, stalls);
    const got = messageType('GetConfigResponse').deserialize(bytes) as { config: Struct__Output; yaml: string };
    expect(structToObjectOrThrow(got.config, ['config'])).toEqual(doc);
    expect(got.yaml).toBe(toYaml(doc));
  });

  it('a large ApplyConfig request: decoding and the Struct-to-document conversion', { timeout: 60_000 }, async () => {
    const bytes = messageType('ApplyConfigRequest').serialize({ config: objectToStruct(doc) });
    const deferred = strictDeserializer(APPLY_REQUEST, DEFERRED_DECODE_BYTES)(bytes);
    const { result, stalls } = await withLoopWatch(() => decodedRequest(deferred));
    expectHeld(`ApplyConfig decoding, ${SERVICES} services (${bytes.length} bytes)`, stalls);
    expect(convertedConfig(result as object)).toEqual({ document: doc, errors: [] });
  });

  it('ApplyConfig of a whole config whose every entry is new: copied, frozen, schema-checked and hashed in turns', { timeout: 120_000 }, async () => {
    // Every service and backend differs from the served ones (a new listener port and a new
    // replica port), so nothing is remembered: all 2,000 + 2,000 entries are validated afresh.
    const next = JSON.parse(JSON.stringify(doc).replaceAll(':8080', ':8081')) as Record<string, unknown>;
    next.listeners = [{ name: 'http', port: 10001 }];
    const request = messageType('ApplyConfigRequest').serialize({ config: objectToStruct(next) });
    const raw = h.rawClient();
    const { result: reply, stalls } = await withLoopWatch(
      () =>
        new Promise<Buffer>((resolve, reject) =>
          raw.makeUnaryRequest('/tether.admin.v1.Admin/ApplyConfig', (b: Buffer) => b, (b: Buffer) => b, request, bearer(), { deadline: Date.now() + 110_000 }, (err, res) =>
            err ? reject(err) : resolve(res!),
          ),
        ),
    );
    expectHeld(`ApplyConfig of ${SERVICES} new services (${request.length} bytes)`, stalls);
    const response = messageType('MutationResponse').deserialize(reply) as { changed: boolean; version: unknown };
    expect(response.changed).toBe(true);
    expect(h.manager.current().document).toEqual(next);
  });
  it('ApplyConfig of a whole config with mistakes: validated in turns, every mistake named, nothing applied', { timeout: 120_000 }, async () => {
    // New entries throughout (nothing remembered), the mistakes at both ends of the lists: every
    // entry is checked by the per-entry validation, then the whole document by the full one.
    const next = JSON.parse(JSON.stringify(doc).replaceAll(':8080', ':8082')) as {
      services: Array<{ routes: Array<{ backends: Array<Record<string, unknown>> }> }>;
      backends: Array<Record<string, unknown>>;
    };
    next.services[3].routes[0].backends[0].weight = -1;
    next.backends[10].bogus = true;
    next.services[SERVICES - 1].routes[1].backends[0].name = 'svc-nope';
    const request = messageType('ApplyConfigRequest').serialize({ config: objectToStruct(next) });
    const before = h.version();
    const raw = h.rawClient();
    const { result: err, stalls } = await withLoopWatch(() =>
      failure(
        new Promise<Buffer>((resolve, reject) =>
          raw.makeUnaryRequest('/tether.admin.v1.Admin/ApplyConfig', (b: Buffer) => b, (b: Buffer) => b, request, bearer(), { deadline: Date.now() + 110_000 }, (e, res) =>
            e ? reject(e) : resolve(res!),
          ),
        ),
      ),
    );
    expectHeld(`ApplyConfig of ${SERVICES} new services with 3 mistakes (${request.length} bytes)`, stalls);
    expect(err.code).toBe(grpc.status.INVALID_ARGUMENT);
    const { violations } = badRequest(err);
    // The messages and order of validating the document at once.
    const whole = validateConfig(next);
    expect(whole.ok).toBe(false);
    expect(violations).toEqual((whole.ok ? [] : whole.errors).map((e) => ({ field: e.path, description: e.message })));
    expect(violations.map((v) => v.field)).toEqual(['services[3].routes[0].backends[0].weight', 'backends[10]', `services[${SERVICES - 1}].routes[1].backends[0].name`]);
    expect(h.version()).toBe(before);
  });
});
