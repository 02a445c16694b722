/**
 * One error type for everything the CLI can fail with, and one function that turns any
 * thrown value into it, so every command reports failures the same way: the server's own
 * text on stderr, every field error of an INVALID_ARGUMENT on its own line, exit code 1,
 * never a stack trace.
 */
import * as grpc from '@grpc/grpc-js';
import type * as protobuf from 'protobufjs';
import { ENVOY_INCLUDE_DIRS, loadRoot } from '../envoy/protos';

export interface FieldViolation {
  field: string;
  description: string;
}

export class CliError extends Error {
  constructor(
    message: string,
    /** The gRPC status when the error came from the server (or the channel). */
    readonly code?: grpc.status,
    /** INVALID_ARGUMENT: every field error (from google.rpc.BadRequest, else the message's lines). */
    readonly fieldViolations: FieldViolation[] = [],
    /** Process exit code. */
    readonly exitCode = 1,
  ) {
    super(message);
    this.name = 'CliError';
  }

  /** The gRPC code's name (`UNAUTHENTICATED`), if any. */
  get codeName(): string | undefined {
    return this.code === undefined ? undefined : grpc.status[this.code];
  }
}

function isServiceError(err: unknown): err is grpc.ServiceError {
  return err instanceof Error && typeof (err as Partial<grpc.ServiceError>).code === 'number' && 'details' in err;
}

/** Turns anything thrown into a CliError; `address` names the server in connection errors. */
export function toCliError(err: unknown, address?: string): CliError {
  if (err instanceof CliError) return err;
  if (isServiceError(err)) {
    const details = err.details || grpc.status[err.code] || 'unknown error';
    const where = address ? ` at ${address}` : '';
    switch (err.code) {
      case grpc.status.UNAVAILABLE:
        // Tether itself refusing (its store, etcd, is unreachable) is not a connection problem.
        if (answeredByTether(err)) return new CliError(details, err.code);
        return new CliError(`cannot reach the admin server${where}: ${transportCause(details)}`, err.code);
      case grpc.status.DEADLINE_EXCEEDED:
        return new CliError(`no answer from the admin server${where} in time (${details})`, err.code);
      case grpc.status.INVALID_ARGUMENT:
        return new CliError(details, err.code, fieldViolations(err));
      default:
        return new CliError(details, err.code);
    }
  }
  return new CliError(err instanceof Error ? err.message : String(err));
}

/**
 * Whether the status came from Tether's admin service (which marks every error it returns
 * with `tether-error` trailing metadata) rather than from the transport.
 */
export function answeredByTether(err: grpc.ServiceError): boolean {
  return (err.metadata?.get('tether-error').length ?? 0) > 0;
}

/**
 * Whether a failed call may still have reached the server and been carried out: the
 * connection broke or the deadline passed after the request went out. Failures before any
 * connection existed (refused, unresolvable, TLS) or a stream the server refused are sure
 * not to have run.
 */
export function outcomeUnknown(err: grpc.ServiceError): boolean {
  if (answeredByTether(err)) return false;
  switch (err.code) {
    case grpc.status.UNAVAILABLE:
      return !/^(No connection established|Name resolution failed|Stream refused)/.test(err.details ?? '');
    case grpc.status.DEADLINE_EXCEEDED:
      return true;
    case grpc.status.INTERNAL:
      return /^Received RST_STREAM/.test(err.details ?? '');
    default:
      return false;
  }
}

/**
 * The error for a change whose outcome is unknown (see outcomeUnknown): says so, and how to
 * find out, since retrying blindly could apply the change twice or over someone else's.
 */
export function unknownOutcomeError(err: grpc.ServiceError, method: string, address: string): CliError {
  const cause = err.code === grpc.status.DEADLINE_EXCEEDED ? `no answer in time (${err.details})` : `the connection broke (${transportCause(err.details || grpc.status[err.code] || 'unknown error')})`;
  return new CliError(
    `${method} to the admin server at ${address}: ${cause} after the request was sent, so it may or may not have been applied.\n` +
      'Run `tether history` to see whether it made a new version before retrying (a retry with --expected-version cannot apply twice).',
    err.code,
  );
}

/**
 * The gist of a grpc-js connection failure, which arrives wrapped as "No connection
 * established. Last error: Error: <cause> (<timestamp>). Resolution note: …", with OpenSSL's
 * "<hex>:error:<code>:SSL routines:<function>:<reason>:<file>:<line>…" as the cause for TLS.
 */
export function transportCause(details: string): string {
  let cause = /Last error: (?:Error: )?([\s\S]*)/.exec(details)?.[1] ?? details;
  cause = cause
    .replace(/\s*Resolution note:[\s\S]*$/, '')
    .replace(/\.?\s*$/, '')
    .replace(/\s*\(\d{4}-\d\d-\d\dT[^)]*\)$/, '')
    .trim();
  const ssl = /error:[0-9A-Fa-f]+:SSL routines:[^:]*:([^:]+)/.exec(cause);
  if (ssl) return `TLS handshake failed: ${ssl[1]!.trim()}`;
  return cause.replace(/\.$/, '') || details;
}

/**
 * The lines to print for an error: `tether: CODE: message`, then for INVALID_ARGUMENT every
 * field error on its own line (the server's message already lists them as "path: message"
 * lines after a heading; the BadRequest details, when present, are the authority).
 */
export function formatCliError(err: CliError): string[] {
  const [heading = '', ...rest] = err.message.split('\n');
  const prefix = err.codeName && err.code !== grpc.status.UNAVAILABLE && err.code !== grpc.status.DEADLINE_EXCEEDED ? `${err.codeName}: ` : '';
  const lines = [`tether: ${prefix}${heading}`];
  // A violation without a field that repeats the message is the message, not a field error.
  const violations = err.fieldViolations.filter((v) => v.field || (v.description !== err.message && v.description !== heading));
  if (violations.length > 0) {
    for (const v of violations) lines.push(`  ${v.field ? `${v.field}: ` : ''}${v.description}`);
  } else {
    for (const line of rest) if (line.trim()) lines.push(`  ${line.trim()}`);
  }
  return lines;
}

let rpcRoot: protobuf.Root | undefined;

/** google.rpc.BadRequest field violations from the `grpc-status-details-bin` trailer, if any. */
export function fieldViolations(err: grpc.ServiceError): FieldViolation[] {
  const raw = err.metadata?.get('grpc-status-details-bin')[0];
  if (!Buffer.isBuffer(raw)) return [];
  try {
    rpcRoot ??= loadRoot(['google/rpc/status.proto', 'google/rpc/error_details.proto'], ENVOY_INCLUDE_DIRS);
    const status = rpcRoot.lookupType('google.rpc.Status').toObject(rpcRoot.lookupType('google.rpc.Status').decode(raw)) as {
      details?: { type_url: string; value: Uint8Array }[];
    };
    const badRequest = rpcRoot.lookupType('google.rpc.BadRequest');
    const out: FieldViolation[] = [];
    for (const any of status.details ?? []) {
      if (!any.type_url.endsWith('/google.rpc.BadRequest')) continue;
      const decoded = badRequest.toObject(badRequest.decode(any.value)) as { field_violations?: { field?: string; description?: string }[] };
      for (const v of decoded.field_violations ?? []) out.push({ field: v.field ?? '', description: v.description ?? '' });
    }
    return out;
  } catch {
    // Undecodable details: the message text still carries every error.
    return [];
  }
}
