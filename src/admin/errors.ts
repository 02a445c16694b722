/**
 * Anything a handler throws → the gRPC status the client sees. TetherError codes map to
 * the status of the same name with the error's own message; INVALID_ARGUMENT also carries
 * every field error as a google.rpc.BadRequest in `grpc-status-details-bin` (what
 * grpcurl, grpc-gateway and the Go/Java status helpers read). Anything else is a bug: the
 * client gets INTERNAL with a generic message and the real error goes to the log.
 */
import * as grpc from '@grpc/grpc-js';
import type * as protobuf from 'protobufjs';
import type { FieldError } from '../config';
import { TetherError, type TetherErrorCode } from '../config/errors';
import { ENVOY_INCLUDE_DIRS, loadRoot } from '../envoy/protos';
import { TYPE_PREFIX } from '../envoy/resource-types';
import type { Logger } from '../log';

const STATUS_OF: Record<TetherErrorCode, grpc.status> = {
  INVALID_ARGUMENT: grpc.status.INVALID_ARGUMENT,
  NOT_FOUND: grpc.status.NOT_FOUND,
  FAILED_PRECONDITION: grpc.status.FAILED_PRECONDITION,
  ABORTED: grpc.status.ABORTED,
  RESOURCE_EXHAUSTED: grpc.status.RESOURCE_EXHAUSTED,
  UNAVAILABLE: grpc.status.UNAVAILABLE,
  INTERNAL: grpc.status.INTERNAL,
};

export const INTERNAL_MESSAGE = 'internal error; see the server log';

/**
 * Trailers are HTTP/2 headers, which peers cap (Node: 64 KiB for the whole list), and a
 * message can echo what the client sent (a 3 MB "name"). Both are bounded so the error
 * itself always gets through.
 */
const MAX_MESSAGE_CHARS = 4000;
const MAX_VIOLATION_FIELD_CHARS = 300;
const MAX_VIOLATION_DESCRIPTION_CHARS = 600;
const MAX_DETAILS_BYTES = 12_000;

const BAD_REQUEST_TYPE_URL = `${TYPE_PREFIX}google.rpc.BadRequest`;

let rpcTypes: { status: protobuf.Type; badRequest: protobuf.Type } | undefined;

function googleRpc(): { status: protobuf.Type; badRequest: protobuf.Type } {
  if (!rpcTypes) {
    const root = loadRoot(['google/rpc/status.proto', 'google/rpc/error_details.proto'], ENVOY_INCLUDE_DIRS);
    rpcTypes = { status: root.lookupType('google.rpc.Status'), badRequest: root.lookupType('google.rpc.BadRequest') };
  }
  return rpcTypes;
}

export function truncate(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max)}… (${text.length - max} more characters)`;
}

/** A google.rpc.Status holding one google.rpc.BadRequest with a violation per field error. */
export function badRequestDetails(code: grpc.status, message: string, fieldErrors: readonly FieldError[]): Buffer {
  const { status, badRequest } = googleRpc();
  const violations: { field: string; description: string }[] = [];
  let size = 0;
  for (const e of fieldErrors) {
    const v = { field: truncate(e.path, MAX_VIOLATION_FIELD_CHARS), description: truncate(e.message, MAX_VIOLATION_DESCRIPTION_CHARS) };
    size += Buffer.byteLength(v.field) + Buffer.byteLength(v.description) + 8;
    if (size > MAX_DETAILS_BYTES) {
      violations.push({ field: '', description: `… and ${fieldErrors.length - violations.length} more errors` });
      break;
    }
    violations.push(v);
  }
  const value = badRequest.encode({ field_violations: violations }).finish();
  return Buffer.from(status.encode({ code, message, details: [{ type_url: BAD_REQUEST_TYPE_URL, value }] }).finish());
}

/** Trailing metadata on every status Tether itself returns: the TetherError code. */
export const TETHER_ERROR_KEY = 'tether-error';

/** The status for a thrown value. `context` (method, peer) goes into the log line of internal errors. */
export function toStatus(err: unknown, log: Logger, context: Record<string, unknown> = {}): Partial<grpc.StatusObject> {
  if (!(err instanceof TetherError) || err.code === 'INTERNAL') {
    log.error({ ...context, err }, 'admin call failed with an internal error');
    return { code: grpc.status.INTERNAL, details: INTERNAL_MESSAGE };
  }
  const code = STATUS_OF[err.code] ?? grpc.status.INTERNAL;
  const details = truncate(err.message, MAX_MESSAGE_CHARS);
  const metadata = new grpc.Metadata();
  // Tells clients the status is Tether's answer, not the transport's (UNAVAILABLE: etcd is down, not the connection).
  metadata.set(TETHER_ERROR_KEY, err.code);
  if (code !== grpc.status.INVALID_ARGUMENT) return { code, details, metadata };
  const fieldErrors = err.fieldErrors.length > 0 ? err.fieldErrors : [{ path: '', message: err.message }];
  metadata.set('grpc-status-details-bin', badRequestDetails(code, details, fieldErrors));
  return { code, details, metadata };
}

/** A malformed request: INVALID_ARGUMENT naming each field (collected by the handler). */
export function invalidRequest(fieldErrors: FieldError[]): TetherError {
  return TetherError.invalid(fieldErrors, 'invalid request');
}
