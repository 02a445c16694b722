/**
 * Responses whose bytes were written off the event loop (GetConfig of a large config: the
 * compute worker encodes it, config-wire.ts). grpc-js serializes what a handler returns with
 * the method's responseSerialize; wrapped here, a PreEncoded response passes through as is.
 */
import type * as grpc from '@grpc/grpc-js';

export class PreEncoded {
  constructor(readonly bytes: Buffer) {}
}

/** The service definition with every method's serializer letting PreEncoded bytes through. */
export function withPreEncodedResponses(service: grpc.ServiceDefinition): grpc.ServiceDefinition {
  const out: Record<string, grpc.MethodDefinition<unknown, unknown>> = {};
  for (const [name, method] of Object.entries(service)) {
    const serialize = method.responseSerialize;
    out[name] = { ...method, responseSerialize: (value: unknown) => (value instanceof PreEncoded ? value.bytes : serialize(value)) };
  }
  return out as grpc.ServiceDefinition;
}
