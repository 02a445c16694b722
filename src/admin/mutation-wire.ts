/**
 * A mutation's response with many changes (a whole new config of 10,000 services lists 60,000)
 * written to protobuf bytes in turns instead of by grpc-js in one go (~0.1–0.3 s on the event
 * loop). Protobuf merges concatenated messages, appending repeated fields: the response without
 * its changes, then its changes a slice at a time, each encoded by the method's own serializer,
 * decode as the one message (the scalar fields are written once, in the first part).
 */
import type * as grpc from '@grpc/grpc-js';
import type { MutationResponse } from '../generated/tether/tether/admin/v1/MutationResponse';
import { yieldToLoop } from '../util/yield-loop';
import { ADMIN_SERVICE_NAME, adminPackageDefinition } from './admin-proto';
import { PreEncoded } from './pre-encoded';

/** Responses with fewer changes are serialized by grpc-js as usual. */
export const CHANGES_IN_TURNS = 1000;
const CHANGES_PER_TURN = 500;

function serializer(): (value: unknown) => Buffer {
  const service = adminPackageDefinition()[ADMIN_SERVICE_NAME] as unknown as grpc.ServiceDefinition;
  return service.ApplyConfig!.responseSerialize as (value: unknown) => Buffer;
}

export async function encodeMutationResponseInTurns(response: MutationResponse): Promise<PreEncoded> {
  const serialize = serializer();
  const changes = response.changes ?? [];
  const parts: Buffer[] = [serialize({ ...response, changes: [] })];
  for (let i = 0; i < changes.length; i += CHANGES_PER_TURN) {
    await yieldToLoop();
    parts.push(serialize({ changes: changes.slice(i, i + CHANGES_PER_TURN) }));
  }
  return new PreEncoded(Buffer.concat(parts));
}
