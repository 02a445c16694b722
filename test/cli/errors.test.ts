import * as grpc from '@grpc/grpc-js';
import { describe, expect, it } from 'vitest';
import { CliError, formatCliError, outcomeUnknown, toCliError, transportCause, unknownOutcomeError } from '../../src/cli/errors';
import { ENVOY_INCLUDE_DIRS, loadRoot } from '../../src/envoy/protos';

/** A google.rpc.Status with one BadRequest, as the admin server sends in grpc-status-details-bin. */
function badRequestDetails(code: grpc.status, message: string, fieldErrors: { path: string; message: string }[]): Buffer {
  const root = loadRoot(['google/rpc/status.proto', 'google/rpc/error_details.proto'], ENVOY_INCLUDE_DIRS);
  const value = root
    .lookupType('google.rpc.BadRequest')
    .encode({ field_violations: fieldErrors.map((e) => ({ field: e.path, description: e.message })) })
    .finish();
  return Buffer.from(
    root.lookupType('google.rpc.Status').encode({ code, message, details: [{ type_url: 'type.googleapis.com/google.rpc.BadRequest', value }] }).finish(),
  );
}

function serviceError(code: grpc.status, details: string, metadata = new grpc.Metadata()): grpc.ServiceError {
  return Object.assign(new Error(`${code} ${grpc.status[code]}: ${details}`), { code, details, metadata });
}

describe('CLI error reporting', () => {
  it('INVALID_ARGUMENT: every field error on its own line, from the BadRequest details', () => {
    const md = new grpc.Metadata();
    const fieldErrors = [
      { path: 'services[0].routes[0].backends[0].weight', message: 'must be >= 0' },
      { path: 'backends[0].endpoints[0]', message: 'port must be 1..65535' },
    ];
    md.set('grpc-status-details-bin', badRequestDetails(grpc.status.INVALID_ARGUMENT, 'invalid config:\n…', fieldErrors));
    const err = toCliError(serviceError(grpc.status.INVALID_ARGUMENT, 'invalid config:\nservices[0]… (text)', md));
    expect(err.fieldViolations).toEqual(fieldErrors.map((e) => ({ field: e.path, description: e.message })));
    expect(formatCliError(err)).toEqual([
      'tether: INVALID_ARGUMENT: invalid config:',
      '  services[0].routes[0].backends[0].weight: must be >= 0',
      '  backends[0].endpoints[0]: port must be 1..65535',
    ]);
  });

  it('INVALID_ARGUMENT without details: the message lines', () => {
    const err = toCliError(serviceError(grpc.status.INVALID_ARGUMENT, 'invalid config:\na: one\nb: two'));
    expect(formatCliError(err)).toEqual(['tether: INVALID_ARGUMENT: invalid config:', '  a: one', '  b: two']);
  });

  it('a field-less violation repeating the message is not printed twice', () => {
    const md = new grpc.Metadata();
    md.set('grpc-status-details-bin', badRequestDetails(grpc.status.INVALID_ARGUMENT, 'weights must not be empty', [{ path: '', message: 'weights must not be empty' }]));
    expect(formatCliError(toCliError(serviceError(grpc.status.INVALID_ARGUMENT, 'weights must not be empty', md)))).toEqual([
      'tether: INVALID_ARGUMENT: weights must not be empty',
    ]);
  });

  it('names the code, and the server address for connection problems', () => {
    expect(formatCliError(toCliError(serviceError(grpc.status.UNAUTHENTICATED, 'invalid admin token')))).toEqual([
      'tether: UNAUTHENTICATED: invalid admin token',
    ]);
    expect(formatCliError(toCliError(serviceError(grpc.status.NOT_FOUND, "service 'x' not found")))).toEqual([
      "tether: NOT_FOUND: service 'x' not found",
    ]);
    expect(formatCliError(toCliError(serviceError(grpc.status.UNAVAILABLE, 'No connection established'), '127.0.0.1:1'))).toEqual([
      'tether: cannot reach the admin server at 127.0.0.1:1: No connection established',
    ]);
    const refused = 'No connection established. Last error: Error: connect ECONNREFUSED 127.0.0.1:1. Resolution note: ';
    expect(formatCliError(toCliError(serviceError(grpc.status.UNAVAILABLE, refused), '127.0.0.1:1'))).toEqual([
      'tether: cannot reach the admin server at 127.0.0.1:1: connect ECONNREFUSED 127.0.0.1:1',
    ]);
    const tls =
      'No connection established. Last error: Error: 80EC4D61977F0000:error:0A00045C:SSL routines:ssl3_read_bytes:tlsv13 alert certificate required:../deps/openssl/openssl/ssl/record/rec_layer_s3.c:1601:SSL alert number 116\n (2026-11-23T19:27:54.855Z)';
    expect(transportCause(tls)).toBe('TLS handshake failed: tlsv13 alert certificate required');
    expect(transportCause('No connection established. Last error: Error: connect ECONNREFUSED 127.0.0.1:1 (2026-11-23T19:27:54.855Z). Resolution note: x')).toBe(
      'connect ECONNREFUSED 127.0.0.1:1',
    );
    expect(transportCause('Name resolution failed for target dns:nohost:1')).toBe('Name resolution failed for target dns:nohost:1');
    expect(formatCliError(toCliError(new Error('boom')))).toEqual(['tether: boom']);
    const same = new CliError('x');
    expect(toCliError(same)).toBe(same);
  });

  it('a call that may have run after the request went out: outcome unknown, and how to check', () => {
    const unknown = [
      serviceError(grpc.status.UNAVAILABLE, 'Connection dropped'),
      serviceError(grpc.status.UNAVAILABLE, 'read ECONNRESET'),
      serviceError(grpc.status.DEADLINE_EXCEEDED, 'Deadline exceeded after 10.002s,remote_addr=127.0.0.1:18001'),
      serviceError(grpc.status.INTERNAL, 'Received RST_STREAM with code 2 triggered by internal client error: Protocol error'),
    ];
    const sure = [
      serviceError(grpc.status.UNAVAILABLE, 'No connection established. Last error: Error: connect ECONNREFUSED 127.0.0.1:1'),
      serviceError(grpc.status.UNAVAILABLE, 'Name resolution failed for target dns:nohost:1'),
      serviceError(grpc.status.UNAVAILABLE, 'Stream refused by server'),
      serviceError(grpc.status.INVALID_ARGUMENT, 'bad'),
      serviceError(grpc.status.INTERNAL, 'boom'),
    ];
    expect(unknown.map(outcomeUnknown)).toEqual(unknown.map(() => true));
    expect(sure.map(outcomeUnknown)).toEqual(sure.map(() => false));
    expect(formatCliError(unknownOutcomeError(unknown[2]!, 'Promote', '127.0.0.1:18001'))).toEqual([
      'tether: Promote to the admin server at 127.0.0.1:18001: no answer in time (Deadline exceeded after 10.002s,remote_addr=127.0.0.1:18001) after the request was sent, so it may or may not have been applied.',
      '  Run `tether history` to see whether it made a new version before retrying (a retry with --expected-version cannot apply twice).',
    ]);
  });
});
