/**
 * ProcessingRequest / ProcessingResponse through the real Envoy protos (getEnvoyRoot), and the
 * hand-made grpc-js definition of envoy.service.ext_proc.v3.ExternalProcessor/Process.
 */
import type * as grpc from '@grpc/grpc-js';
import type * as protobuf from 'protobufjs';
import { lookupEnvoyType } from '../envoy/protos';
import type { ProcessingRequest } from '../generated/envoy/service/ext_proc/v3/ProcessingRequest';
import type { ProcessingResponse } from '../generated/envoy/service/ext_proc/v3/ProcessingResponse';
import type { HeaderValueIn } from './request-view';

export type { ProcessingRequest, ProcessingResponse };

export const EXT_PROC_SERVICE_NAME = 'envoy.service.ext_proc.v3.ExternalProcessor';
export const EXT_PROC_METHOD_PATH = `/${EXT_PROC_SERVICE_NAME}/Process`;

export interface HttpHeadersIn {
  headers: { headers: HeaderValueIn[] } | null;
  end_of_stream: boolean;
}

export interface HttpBodyIn {
  body: Uint8Array;
  end_of_stream: boolean;
}

/**
 * google.protobuf.Value as protobufjs decodes it (only what attribute lookup reads). The
 * well-known types come from protobufjs's bundled definitions, whose field names are camelCase
 * even in a keepCase root.
 */
export interface ValueIn {
  stringValue?: string;
}

/**
 * A decoded ProcessingRequest. protobufjs leaves unset fields on the prototype: message fields
 * read as null, scalars as their zero value, maps as {}.
 */
export interface ProcessingRequestIn {
  request_headers: HttpHeadersIn | null;
  response_headers: HttpHeadersIn | null;
  request_body: HttpBodyIn | null;
  response_body: HttpBodyIn | null;
  request_trailers: object | null;
  response_trailers: object | null;
  attributes: Record<string, { fields?: Record<string, ValueIn> } | undefined>;
  observability_mode: boolean;
}

let requestType: protobuf.Type | undefined;
let responseType: protobuf.Type | undefined;

function types(): { request: protobuf.Type; response: protobuf.Type } {
  requestType ??= lookupEnvoyType('envoy.service.ext_proc.v3.ProcessingRequest');
  responseType ??= lookupEnvoyType('envoy.service.ext_proc.v3.ProcessingResponse');
  return { request: requestType, response: responseType };
}

/** Loads the Envoy protos now (about 0.7 s the first time) rather than on the first stream. */
export function preloadExtProcTypes(): void {
  types();
}

function toBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length);
}

export function decodeProcessingRequest(bytes: Buffer): ProcessingRequestIn {
  return types().request.decode(bytes) as unknown as ProcessingRequestIn;
}

export function encodeProcessingResponse(response: ProcessingResponse): Buffer {
  const { response: type } = types();
  return toBuffer(type.encode(type.fromObject(response as Record<string, unknown>)).finish());
}

/** Client side (tests, the benchmark): encode what Envoy sends. */
export function encodeProcessingRequest(request: ProcessingRequest): Buffer {
  const { request: type } = types();
  return toBuffer(type.encode(type.fromObject(request as Record<string, unknown>)).finish());
}

/** Client side: a response as a plain object (enums as names, bytes as Buffers). */
export function decodeProcessingResponse(bytes: Buffer): Record<string, unknown> {
  const { response: type } = types();
  return type.toObject(type.decode(bytes), { enums: String, bytes: Buffer, longs: String, defaults: false });
}

/**
 * The Process method (bidi streaming). The definition works for both ends: a server decodes
 * requests and encodes responses; `grpc.makeGenericClientConstructor` makes a client of it.
 */
export function extProcServiceDefinition(): grpc.ServiceDefinition {
  types();
  const process: grpc.MethodDefinition<ProcessingRequest | ProcessingRequestIn, ProcessingResponse | Record<string, unknown>> = {
    path: EXT_PROC_METHOD_PATH,
    requestStream: true,
    responseStream: true,
    requestSerialize: (req) => encodeProcessingRequest(req as ProcessingRequest),
    requestDeserialize: decodeProcessingRequest,
    responseSerialize: (res) => encodeProcessingResponse(res as ProcessingResponse),
    responseDeserialize: decodeProcessingResponse,
    originalName: 'process',
  };
  return { Process: process };
}
