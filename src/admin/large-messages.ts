/**
 * GetConfig and ApplyConfig of large configs, off the event loop. At 10,000 services the
 * document's Struct, its YAML and their encoding (GetConfig), and the request's decoding and
 * Struct-to-document conversion (ApplyConfig) each hold a thread for 0.5–2 s. Here the loop
 * only writes or reads the document's JSON in ~10 ms turns (compute/document-parts.ts); the
 * compute worker does the rest (config-wire.ts). Small configs stay on the loop, where they
 * cost less than a round trip to the worker; if the worker fails, the loop does it as before.
 */
import type { FieldError } from '../config';
import { computePool } from '../compute';
import { parseInTurns, stringifyInTurns } from '../compute/document-parts';
import type { GetConfigResponse } from '../generated/tether/tether/admin/v1/GetConfigResponse';
import { stringify as toYaml } from 'yaml';
import { APPLY_REQUEST, type ConfigRecord } from './config-wire';
import { objectToStruct, toTimestamp } from './convert';
import { PreEncoded } from './pre-encoded';
import { DeferredRequest, MalformedRequest, strictDeserializer } from './request-decoding';

/**
 * Documents with fewer entries than this (top-level list entries and the lists inside them:
 * routes, domains, endpoints…) are converted on the loop: 2,000 endpoints take ~30 ms there.
 */
export const OFFLOAD_MIN_ENTRIES = 5000;

/** A cheap size measure: entries of the top-level lists and of the lists directly inside their entries. */
export function documentEntries(document: Record<string, unknown>): number {
  let n = 0;
  for (const value of Object.values(document)) {
    if (!Array.isArray(value)) continue;
    n += value.length;
    for (const entry of value) {
      if (entry === null || typeof entry !== 'object') continue;
      for (const inner of Object.values(entry as Record<string, unknown>)) if (Array.isArray(inner)) n += inner.length;
    }
  }
  return n;
}

/** GetConfig's response for a stored record: the message, or (a large config) its bytes from the worker. */
export async function getConfigResponse(record: ConfigRecord): Promise<GetConfigResponse | PreEncoded> {
  if (documentEntries(record.document) >= OFFLOAD_MIN_ENTRIES) {
    const json = await stringifyInTurns(record.document);
    try {
      const bytes = await computePool().configResponse(json, record.version, record.createdAt);
      return new PreEncoded(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
    } catch {
      // The worker is gone (or refused a value): answer from the loop, as small configs are.
    }
  }
  return {
    version: record.version,
    config: objectToStruct(record.document),
    yaml: toYaml(record.document),
    applied_at: toTimestamp(record.createdAt),
  };
}

/** Requests whose `config` the worker already converted: the document and its field errors. */
const converted = new WeakMap<object, { document: Record<string, unknown>; errors: FieldError[] }>();

/** The document converted off the loop for this ApplyConfigRequest (readConfigDocument), if any. */
export function convertedConfig(request: object): { document: Record<string, unknown>; errors: FieldError[] } | undefined {
  return converted.get(request);
}

/** A request as the handler reads it: a deferred one is decoded (on the worker) now. */
export async function decodedRequest(request: unknown): Promise<unknown> {
  if (!(request instanceof DeferredRequest)) return request;
  const inline = () => strictDeserializer(request.messageName)(request.bytes);
  if (request.messageName !== APPLY_REQUEST) return inline();
  let decoded;
  try {
    decoded = await computePool().decodeApply(request.bytes);
  } catch {
    return inline();
  }
  if ('malformed' in decoded) return new MalformedRequest(decoded.malformed);
  const out = decoded.request;
  if (decoded.parts) converted.set(out, { document: await parseInTurns(decoded.parts), errors: decoded.errors });
  return out;
}
