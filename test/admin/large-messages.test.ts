/**
 * GetConfig and ApplyConfig of configs large enough to leave the event loop (large-messages.ts):
 * what the worker writes and reads is what the loop would have, through the real gRPC stack.
 */
import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify as toYaml } from 'yaml';
import { adminProto } from '../../src/admin/admin-proto';
import { APPLY_REQUEST, getConfigResponseBytes } from '../../src/admin/config-wire';
import { objectToStruct, structToObject, structToObjectOrThrow, toTimestamp } from '../../src/admin/convert';
import { convertedConfig, decodedRequest, documentEntries, getConfigResponse, OFFLOAD_MIN_ENTRIES } from '../../src/admin/large-messages';
import { PreEncoded } from '../../src/admin/pre-encoded';
import { DEFERRED_DECODE_BYTES, DeferredRequest, strictDeserializer } from '../../src/admin/request-decoding';
import type { FieldError } from '../../src/config';
import type { Struct__Output } from '../../src/generated/tether/google/protobuf/Struct';
import { configDocument } from '../../bench/xds/config-gen';
import { AdminHarness, badRequest, bearer, failure } from './harness';

const SERVICES = 700;

type Serializer = { serialize(v: unknown): Buffer; deserialize(b: Buffer): unknown };
const messageType = (name: string) => (adminProto() as unknown as Record<string, Serializer>)[name]!;

describe('GetConfig response bytes written on the worker', () => {
  it('are the bytes grpc-js would have written from objectToStruct and YAML', () => {
    const doc = {
      ...configDocument(3),
      odd: { ['__proto__']: { a: 1 }, list: [1.5, -0, null, undefined, 'x', true, { deep: [[]] }], at: new Date(0) },
      skipped: undefined,
    } as Record<string, unknown>;
    const record = { version: 7, document: doc, createdAt: '2026-12-06T04:00:00.123Z' };
    const expected = messageType('GetConfigResponse').serialize({
      version: 7,
      config: objectToStruct(doc),
      yaml: toYaml(doc),
      applied_at: toTimestamp(record.createdAt),
    });
    expect(Buffer.from(getConfigResponseBytes(record)).equals(expected)).toBe(true);
    expect(() => getConfigResponseBytes({ ...record, document: { bad: { n: NaN } } })).toThrow('bad.n: NaN has no JSON form');
  });
});

describe(`admin calls with ${SERVICES} services (over the offload threshold)`, () => {
  let h: AdminHarness;
  const doc = configDocument(SERVICES);
  beforeAll(async () => {
    expect(documentEntries(doc)).toBeGreaterThanOrEqual(OFFLOAD_MIN_ENTRIES);
    h = await AdminHarness.start({ config: configDocument(1) });
  }, 60_000);
  afterAll(async () => {
    await h?.close();
  });

  const call = <T>(method: string, req: object, md = bearer()): Promise<T> =>
    new Promise((resolve, reject) => {
      const fn = (h.client as unknown as Record<string, (...a: unknown[]) => unknown>)[method]!;
      fn.call(h.client, req, md, { deadline: Date.now() + 60_000 }, (err: Error | null, res: T) => (err ? reject(err) : resolve(res)));
    });

  it('ApplyConfig (decoded and converted on the worker), then GetConfig (encoded there) gives the document and its YAML back', { timeout: 60_000 }, async () => {
    const request = { config: objectToStruct(doc) };
    expect(messageType('ApplyConfigRequest').serialize(request).length).toBeGreaterThan(DEFERRED_DECODE_BYTES);
    const applied = await call<{ changed: boolean; version: string }>('ApplyConfig', request);
    expect(applied.changed).toBe(true);
    const got = await call<{ version: string; config: Struct__Output; yaml: string; applied_at: { seconds: string } }>('GetConfig', {});
    expect(got.version).toBe(applied.version);
    expect(structToObjectOrThrow(got.config, ['config'])).toEqual(doc);
    expect(got.yaml).toBe(toYaml(doc));
    expect(Number(got.applied_at.seconds)).toBeGreaterThan(0);
  });

  it('a large ApplyConfig: Struct problems are field errors naming the path, bad bytes INVALID_ARGUMENT, no token UNAUTHENTICATED', { timeout: 60_000 }, async () => {
    const struct = objectToStruct(doc) as { fields: Record<string, { listValue?: { values: Array<{ structValue?: { fields: Record<string, unknown> } }> } }> };
    struct.fields.services!.listValue!.values[3]!.structValue!.fields.weird = {};
    const bad = await failure(call('ApplyConfig', { config: struct }));
    expect(bad.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(badRequest(bad).violations).toEqual([{ field: 'config.services[3].weird', description: expect.stringContaining('a value with no kind set') }]);

    const raw = h.rawClient();
    const garbage = Buffer.alloc(DEFERRED_DECODE_BYTES + 1024, 0xff);
    const send = (md: grpc.Metadata) =>
      new Promise<grpc.ServiceError>((resolve, reject) =>
        raw.makeUnaryRequest('/tether.admin.v1.Admin/ApplyConfig', (b: Buffer) => b, (b: Buffer) => b, garbage, md, { deadline: Date.now() + 30_000 }, (err) =>
          err ? resolve(err) : reject(new Error('garbage was accepted')),
        ),
      );
    const malformed = await send(bearer());
    expect(malformed.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(malformed.details).toContain('malformed request message');
    expect((await send(bearer(null))).code).toBe(grpc.status.UNAUTHENTICATED);
  });

  it('the worker decodes a large request and converts its Struct as the loop does; GetConfig of it is pre-encoded bytes', async () => {
    const type = messageType('ApplyConfigRequest');
    const bytes = type.serialize({ config: objectToStruct(doc), options: { dry_run: true, description: 'big' } });
    const inline = strictDeserializer(APPLY_REQUEST)(bytes) as { config: Struct__Output; options: unknown };
    const deferred = strictDeserializer(APPLY_REQUEST, DEFERRED_DECODE_BYTES)(bytes);
    expect(deferred).toBeInstanceOf(DeferredRequest);
    const decoded = (await decodedRequest(deferred)) as { config: null; options: unknown };
    expect(decoded.options).toEqual(inline.options);
    const errors: FieldError[] = [];
    expect(convertedConfig(decoded)).toEqual({ document: structToObject(inline.config, ['config'], errors), errors: [] });
    expect(convertedConfig(decoded)!.document).toEqual(doc);

    const response = await getConfigResponse({ version: 3, document: doc, createdAt: new Date(0).toISOString() });
    expect(response).toBeInstanceOf(PreEncoded);
    const back = messageType('GetConfigResponse').deserialize((response as PreEncoded).bytes) as { config: Struct__Output; yaml: string };
    expect(structToObjectOrThrow(back.config, ['config'])).toEqual(doc);
    expect(back.yaml).toBe(toYaml(doc));
  });
});
