/**
 * What every admin handler goes through before and after its own work: the auth check (with
 * refusals logged at a bounded rate), the request's well-formedness, the mapping of whatever
 * is thrown to a status, and for mutations the request's options, the caller's identity and
 * the log line of the result.
 */
import { createHash } from 'node:crypto';
import * as grpc from '@grpc/grpc-js';
import { createLogLimiter } from '../util/log-limiter';
import type { MutationOptions, MutationResult } from '../control/types';
import type { MutationOptions__Output } from '../generated/tether/tether/admin/v1/MutationOptions';
import type { MutationResponse } from '../generated/tether/tether/admin/v1/MutationResponse';
import type { Logger } from '../log';
import type { AuthCheck } from './auth';
import { invalidRequest, toStatus } from './errors';
import { isMalformed } from './request-decoding';
import { RequestFields } from './request-fields';
import { toTetherError, type TetherErrorCode } from '../config/errors';
import { decodedRequest } from './large-messages';
import { CHANGES_IN_TURNS, encodeMutationResponseInTurns } from './mutation-wire';

export interface HandlerWrapperOptions {
  auth: AuthCheck;
  logger: Logger;
  /** Told of every mutation refused (not dry runs), with its code (metrics). */
  editRejected?: (code: TetherErrorCode) => void;
}

/** The wrappers the handler groups build their handlers with. */
export interface HandlerWrappers {
  /** Auth first, then the request's own well-formedness; `fn` only ever sees a decoded request. */
  unary<Req, Res>(method: string, fn: (request: Req, call: grpc.ServerUnaryCall<Req, Res>) => Promise<Res> | Res): grpc.handleUnaryCall<Req, Res>;
  /** A mutation: validated request → one manager call → its result, logged. */
  mutation<Req extends { options: MutationOptions__Output | null }>(
    method: string,
    run: (request: Req, fields: RequestFields) => (opts: MutationOptions) => Promise<MutationResult>,
  ): grpc.handleUnaryCall<Req, MutationResponse>;
  /** Logs a call the auth check refused: one line per peer and reason per 10 s. */
  refused(context: { method: string; peer: string }, reason: string | undefined): void;
}

function toMutationResponse(result: MutationResult): MutationResponse {
  return {
    version: result.version,
    changed: result.changed,
    dry_run: result.dryRun,
    changes: result.changes.map((c) => ({ node_kind: c.nodeKind, type: c.type, name: c.name, action: c.action, diff: c.diff ?? '' })),
    restores: result.restores ?? 0,
    warnings: result.warnings.map((w) => ({ node_kind: w.nodeKind, path: w.path, message: w.message })),
  };
}

export const REFUSAL_LOG_INTERVAL_MS = 10_000;

/**
 * Who made an admin call, for the version history: the client certificate's subject under
 * mTLS, else a fingerprint of the bearer token (enough to tell rotated or per-team tokens
 * apart, useless to an attacker), else undefined (auth disabled).
 */
export function callerIdentity(call: Pick<grpc.ServerUnaryCall<unknown, unknown>, 'metadata' | 'getAuthContext'>): string | undefined {
  const subject = call.getAuthContext().sslPeerCertificate?.subject as Record<string, string | string[] | undefined> | undefined;
  if (subject && Object.keys(subject).length > 0) {
    return `cert:${Object.entries(subject).map(([k, v]) => `${k}=${Array.isArray(v) ? v.join('+') : (v ?? '')}`).join(',')}`;
  }
  const bearer = /^Bearer[ \t]+(\S+)/i.exec(String(call.metadata.get('authorization')[0] ?? ''));
  return bearer ? `token:${createHash('sha256').update(bearer[1]!, 'utf8').digest('hex').slice(0, 8)}` : undefined;
}

/** `ipv4:1.2.3.4:5678` → `ipv4:1.2.3.4`: a client's every connection is one peer for the log limiter. */
function peerHost(peer: string): string {
  const cut = peer.lastIndexOf(':');
  return cut > 0 ? peer.slice(0, cut) : peer;
}

export function createHandlerWrappers(options: HandlerWrapperOptions): HandlerWrappers {
  const { auth } = options;
  const log = options.logger;
  // A client retrying with a bad token must not fill the log: one line per peer and reason per 10 s.
  const refusals = createLogLimiter(REFUSAL_LOG_INTERVAL_MS);
  const refused = (context: { method: string; peer: string }, reason: string | undefined) => {
    const held = refusals.admit(`${peerHost(context.peer)} ${reason ?? ''}`);
    if (held !== undefined) log.warn({ ...context, reason, ...(held > 0 ? { heldBack: held } : {}) }, 'admin call refused');
  };

  /** Auth first, then the request's own well-formedness; `fn` only ever sees a decoded request. */
  function unary<Req, Res>(method: string, fn: (request: Req, call: grpc.ServerUnaryCall<Req, Res>) => Promise<Res> | Res): grpc.handleUnaryCall<Req, Res> {
    return (call, callback) => {
      const context = { method, peer: call.getPeer() };
      const denied = auth(call.metadata);
      if (denied) {
        refused(context, denied.details);
        callback(denied);
        return;
      }
      // A large request is decoded on the compute worker (large-messages.ts), after the auth check.
      decodedRequest(call.request)
        .then((request) => {
          if (isMalformed(request)) throw invalidRequest([{ path: '', message: `malformed request message: ${request.reason}` }]);
          return fn(request as Req, call);
        })
        .then(
          (response) => callback(null, response),
          (err: unknown) => callback(toStatus(err, log, context)),
        );
    };
  }

  /** A mutation: validated request → one manager call → its result, logged. */
  function mutation<Req extends { options: MutationOptions__Output | null }>(
    method: string,
    run: (request: Req, fields: RequestFields) => (opts: MutationOptions) => Promise<MutationResult>,
  ) {
    return unary<Req, MutationResponse>(method, async (request, serverCall) => {
      const fields = new RequestFields();
      const author = callerIdentity(serverCall);
      const opts = { ...fields.mutationOptions(request.options), ...(author ? { author } : {}) };
      let result: MutationResult;
      try {
        const call = run(request, fields);
        fields.done();
        result = await call(opts);
      } catch (err) {
        // A refused edit, whether the request or the resulting config was at fault (not a dry run).
        if (request.options?.dry_run !== true) options.editRejected?.(toTetherError(err).code);
        throw err;
      }
      log.info(
        { method, author, version: result.version, changed: result.changed, dryRun: result.dryRun, changes: result.changes.length, warnings: result.warnings.length },
        'admin mutation',
      );
      const response = toMutationResponse(result);
      // A whole new config's change list is written in turns (mutation-wire.ts); PreEncoded passes through grpc-js.
      return result.changes.length >= CHANGES_IN_TURNS ? ((await encodeMutationResponseInTurns(response)) as unknown as MutationResponse) : response;
    });
  }

  return { unary, mutation, refused };
}
