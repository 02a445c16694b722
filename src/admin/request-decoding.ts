import type * as grpc from '@grpc/grpc-js';
import * as protobuf from 'protobufjs';
import { ENVOY_INCLUDE_DIRS, TETHER_PROTO_DIR, loadRoot } from '../envoy/protos';
import { ADMIN_LOADER_OPTIONS, ADMIN_PROTO_FILE } from './admin-proto';

/**
 * Request decoding that never throws. grpc-js answers a request it cannot deserialize with
 * INTERNAL, which would blame the server for a client's bad bytes; here a message that does
 * not parse becomes a MalformedRequest the handler turns into INVALID_ARGUMENT (after the
 * auth check, so unauthenticated callers learn nothing about the API).
 *
 * Decoding uses protobufjs 8 (the top-level dependency), which enforces proto3's rule that
 * strings are valid UTF-8 and bounds nesting depth; proto-loader's bundled protobufjs 7
 * would silently turn invalid bytes into U+FFFD.
 */
export class MalformedRequest {
  constructor(readonly reason: string) {}
}

export function isMalformed(request: unknown): request is MalformedRequest {
  return request instanceof MalformedRequest;
}

let root: protobuf.Root | undefined;

function adminRoot(): protobuf.Root {
  root ??= loadRoot([ADMIN_PROTO_FILE], [TETHER_PROTO_DIR, ...ENVOY_INCLUDE_DIRS]);
  return root;
}

const TO_OBJECT: protobuf.IConversionOptions = { ...ADMIN_LOADER_OPTIONS };

/**
 * Requests whose decoding is left to the compute worker when they are this large: decoding a
 * 10,000-service ApplyConfig Struct and converting it to a document holds a thread ~1 s.
 * The handler decodes them (large-requests.ts) after the auth check, like any other request.
 */
export const DEFERRED_DECODE_BYTES = 256 * 1024;
const DEFERRED_METHODS = new Set(['ApplyConfig']);

/** A large request's bytes, not decoded yet (see DEFERRED_DECODE_BYTES). */
export class DeferredRequest {
  constructor(
    readonly messageName: string,
    readonly bytes: Buffer,
  ) {}
}

/** A deserializer for `messageName` (fully qualified) that returns MalformedRequest instead of throwing. */
export function strictDeserializer(messageName: string, deferAbove = Infinity): (bytes: Buffer) => unknown {
  const type = adminRoot().lookupType(messageName);
  return (bytes: Buffer) => {
    if (bytes.length > deferAbove) return new DeferredRequest(messageName, bytes);
    try {
      return type.toObject(type.decode(bytes), TO_OBJECT);
    } catch (err) {
      return new MalformedRequest(err instanceof Error ? err.message : String(err));
    }
  };
}

/** The service definition with every method's request decoding made strict (see above). */
export function withStrictDecoding(service: grpc.ServiceDefinition): grpc.ServiceDefinition {
  const out: Record<string, grpc.MethodDefinition<unknown, unknown>> = {};
  for (const [name, method] of Object.entries(service)) {
    const requestType = (method as { requestType?: { type?: { name?: string } } }).requestType?.type?.name;
    if (!requestType) throw new Error(`cannot find the request type of ${method.path}`);
    const fullName = `${method.path.slice(1, method.path.lastIndexOf('/')).replace(/\.[^.]+$/, '')}.${requestType}`;
    out[name] = { ...method, requestDeserialize: strictDeserializer(fullName, DEFERRED_METHODS.has(name) ? DEFERRED_DECODE_BYTES : Infinity) };
  }
  return out as grpc.ServiceDefinition;
}
