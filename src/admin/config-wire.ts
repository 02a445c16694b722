/**
 * GetConfig's response written straight to protobuf bytes, for the compute worker: at 10,000
 * services, objectToStruct, YAML and the Struct's encoding each hold a thread for 0.5–1 s, so
 * the handler sends pre-encoded bytes (pre-encoded.ts) built here. The Struct is written from
 * the plain document without building Value objects; the fields and rules are objectToStruct's
 * (convert.ts): undefined members are left out, undefined list entries are null, Dates are
 * ISO strings, and numbers JSON cannot hold are refused naming their path.
 */
import { Writer } from 'protobufjs';
import { stringify as toYaml } from 'yaml';
import { formatPath } from '../config/field-errors';
import type { FieldError } from '../config';
import { documentParts } from '../compute/document-parts';
import type { DecodedApply } from '../compute/jobs';
export type { DecodedApply } from '../compute/jobs';
import type { ApplyConfigRequest__Output } from '../generated/tether/tether/admin/v1/ApplyConfigRequest';
import { structToObject, toTimestamp } from './convert';
import { isMalformed, strictDeserializer } from './request-decoding';

type Path = ReadonlyArray<string | number>;

// Tags: (field number << 3) | wire type (0 varint, 1 64-bit, 2 length-delimited).
const STRUCT_FIELDS = (1 << 3) | 2;
const ENTRY_KEY = (1 << 3) | 2;
const ENTRY_VALUE = (2 << 3) | 2;
const VALUE_NULL = (1 << 3) | 0;
const VALUE_NUMBER = (2 << 3) | 1;
const VALUE_STRING = (3 << 3) | 2;
const VALUE_BOOL = (4 << 3) | 0;
const VALUE_STRUCT = (5 << 3) | 2;
const VALUE_LIST = (6 << 3) | 2;
const LIST_VALUES = (1 << 3) | 2;

function writeStruct(w: Writer, object: Record<string, unknown>, path: Path): void {
  for (const [key, value] of Object.entries(object)) {
    if (value === undefined) continue;
    w.uint32(STRUCT_FIELDS).fork();
    w.uint32(ENTRY_KEY).string(key);
    w.uint32(ENTRY_VALUE).fork();
    writeValue(w, value, [...path, key]);
    w.ldelim();
    w.ldelim();
  }
}

/** The members of one Value (oneof `kind`), without its own tag and length. */
function writeValue(w: Writer, value: unknown, path: Path): void {
  if (value === null || value === undefined) {
    w.uint32(VALUE_NULL).int32(0);
    return;
  }
  switch (typeof value) {
    case 'boolean':
      w.uint32(VALUE_BOOL).bool(value);
      return;
    case 'string':
      w.uint32(VALUE_STRING).string(value);
      return;
    case 'number':
      if (!Number.isFinite(value)) throw new TypeError(`${formatPath(path)}: ${value} has no JSON form`);
      w.uint32(VALUE_NUMBER).double(value);
      return;
    case 'object': {
      if (Array.isArray(value)) {
        w.uint32(VALUE_LIST).fork();
        value.forEach((v: unknown, i) => {
          w.uint32(LIST_VALUES).fork();
          writeValue(w, v, [...path, i]);
          w.ldelim();
        });
        w.ldelim();
        return;
      }
      if (value instanceof Date) {
        w.uint32(VALUE_STRING).string(value.toISOString());
        return;
      }
      w.uint32(VALUE_STRUCT).fork();
      writeStruct(w, value as Record<string, unknown>, path);
      w.ldelim();
      return;
    }
    default:
      throw new TypeError(`${formatPath(path)}: a ${typeof value} has no JSON form`);
  }
}

/** A document as the bytes of a google.protobuf.Struct (objectToStruct, encoded). */
export function structBytes(document: Record<string, unknown>): Uint8Array {
  const w = Writer.create();
  writeStruct(w, document, []);
  return w.finish();
}

export interface ConfigRecord {
  version: number;
  document: Record<string, unknown>;
  createdAt: string;
}

/** tether.admin.v1.GetConfigResponse's bytes: version = 1, config = 2, yaml = 3, applied_at = 4. */
export function getConfigResponseBytes(record: ConfigRecord): Uint8Array {
  const w = Writer.create();
  if (record.version !== 0) w.uint32((1 << 3) | 0).uint64(record.version);
  w.uint32((2 << 3) | 2).fork();
  writeStruct(w, record.document, []);
  w.ldelim();
  const yaml = toYaml(record.document);
  if (yaml !== '') w.uint32((3 << 3) | 2).string(yaml);
  const at = toTimestamp(record.createdAt);
  if (at) {
    w.uint32((4 << 3) | 2).fork();
    if (at.seconds !== '0') w.uint32((1 << 3) | 0).int64(at.seconds as string);
    if (at.nanos) w.uint32((2 << 3) | 0).int32(at.nanos as number);
    w.ldelim();
  }
  return w.finish();
}


/**
 * A large ApplyConfigRequest's bytes, decoded as the server decodes every request
 * (request-decoding.ts) and its `config` converted as readConfigDocument converts it.
 */
export function decodeApplyRequest(bytes: Uint8Array): DecodedApply {
  const request = strictDeserializer(APPLY_REQUEST)(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
  if (isMalformed(request)) return { malformed: request.reason };
  const { config, ...rest } = request as ApplyConfigRequest__Output;
  if (!config) return { request: { ...rest, config: null }, errors: [] };
  const errors: FieldError[] = [];
  const document = structToObject(config, ['config'], errors);
  return { request: { ...rest, config: null }, parts: documentParts(document), errors };
}

export const APPLY_REQUEST = 'tether.admin.v1.ApplyConfigRequest';
