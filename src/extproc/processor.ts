/**
 * One ext_proc stream (Envoy opens one per HTTP request): the protocol state machine that turns
 * each ProcessingRequest into exactly one ProcessingResponse of the matching kind. No gRPC here.
 *
 * request_headers → evaluate the sources. A key → set the target and bucket headers. A jsonBody
 * source that needs the body → answer with mode_override (request_body_mode BUFFERED) plus a
 * provisional decision from the later sources (it stands if Envoy never sends the body, e.g.
 * allow_mode_override is off), then decide on the body. No key → mint (cookie set on
 * response_headers) or strip client-sent copies of the target/bucket headers, so a client
 * cannot pick its own bucket.
 */
import type { Logger } from 'pino';
import type { HeaderValueOption } from '../generated/envoy/config/core/v3/HeaderValueOption';
import type { CommonResponse } from '../generated/envoy/service/ext_proc/v3/CommonResponse';
import type { HeaderMutation } from '../generated/envoy/service/ext_proc/v3/HeaderMutation';
import type { ProcessingMode } from '../generated/envoy/extensions/filters/http/ext_proc/v3/ProcessingMode';
import type { ProcessingRequestIn, ProcessingResponse } from './codec';
import type { CompiledPolicy } from './policy';
import { RequestView } from './request-view';
import { bucketOf, evaluateSources, headerValueFor, mintSessionId, type BodyInput, type Evaluation, type RejectStatus } from './session-key';

export interface ExtProcStats {
  streams: number;
  requests: number;
  /** Requests whose key was found, by source label (`header:x-user`, `jwt:sub`…). */
  keysBySource: Record<string, number>;
  minted: number;
  noKey: number;
  rejected: number;
  bodiesRequested: number;
  noPolicy: number;
  errors: number;
}

export function emptyStats(): ExtProcStats {
  return { streams: 0, requests: 0, keysBySource: {}, minted: 0, noKey: 0, rejected: 0, bodiesRequested: 0, noPolicy: 0, errors: 0 };
}

export interface ResolvedPolicy {
  policy: CompiledPolicy;
  /** For logs: the service name or authority that selected the policy. */
  service: string;
}

export interface StreamDeps {
  /** Picks the policy once request_headers (authority, attributes) are known. */
  resolve(view: RequestView, attributes: Record<string, string>): ResolvedPolicy | undefined;
  logger: Logger;
  stats: ExtProcStats;
  /** Milliseconds since the epoch. */
  now(): number;
}

/** The mode asked for when the body is needed; response headers only when a cookie may be set. */
function bufferedBodyMode(withResponseHeaders: boolean): ProcessingMode {
  return {
    request_header_mode: 'SEND',
    response_header_mode: withResponseHeaders ? 'SEND' : 'SKIP',
    request_body_mode: 'BUFFERED',
    response_body_mode: 'NONE',
    request_trailer_mode: 'SKIP',
    response_trailer_mode: 'SKIP',
  };
}

const REJECT_BODY: Record<RejectStatus, string> = {
  400: 'invalid session key\n',
  401: 'invalid session token\n',
  413: 'request body too large for session key\n',
};

type Phase = 'idle' | 'awaitingBody' | 'decided' | 'rejected';

export class ExtProcStream {
  private phase: Phase = 'idle';
  private resolved: ResolvedPolicy | undefined;
  private view: RequestView | undefined;
  /** Index of the jsonBody source waiting for the body. */
  private resumeAt = 0;
  private chunks: Buffer[] = [];
  private bodyBytes = 0;
  /** Session id minted for this request; set as a cookie on response_headers. */
  private minted: string | undefined;

  constructor(private readonly deps: StreamDeps) {}

  /** The response to one request message; undefined when none is due (observability mode). */
  handle(req: ProcessingRequestIn): ProcessingResponse | undefined {
    if (req.observability_mode) return undefined;
    try {
      if (req.request_headers) return this.onRequestHeaders(req);
      if (req.request_body) return this.onRequestBody(req.request_body.body, req.request_body.end_of_stream);
      if (req.response_headers) return this.onResponseHeaders();
    } catch (err) {
      // A bug here must not fail the HTTP request: continue without a key. Only the error's
      // name and first stack frame are logged; messages may quote request data.
      this.deps.stats.errors++;
      const frame = (err as Error)?.stack?.split('\n')[1]?.trim();
      this.deps.logger.error({ errorName: (err as Error)?.name, at: frame }, 'ext_proc: unexpected error; request continues without a session key');
    }
    return continueResponse(req);
  }

  private onRequestHeaders(req: ProcessingRequestIn): ProcessingResponse {
    const { stats } = this.deps;
    stats.requests++;
    this.phase = 'idle';
    this.minted = undefined;
    this.chunks = [];
    this.bodyBytes = 0;
    const headers = req.request_headers!;
    const view = new RequestView(headers.headers?.headers ?? [], headers.end_of_stream);
    this.view = view;
    this.resolved = this.deps.resolve(view, flattenAttributes(req.attributes));
    if (!this.resolved) {
      stats.noPolicy++;
      this.phase = 'decided';
      if (this.deps.logger.isLevelEnabled('debug')) this.deps.logger.debug({ authority: view.authority }, 'ext_proc: no session key policy for this request');
      return { request_headers: {} };
    }
    const { policy } = this.resolved;
    const evaluation = evaluateSources(policy, view, { nowSeconds: this.nowSeconds() });
    if (evaluation.kind !== 'needBody') return this.decide(evaluation, 'request_headers');

    stats.bodiesRequested++;
    this.phase = 'awaitingBody';
    this.resumeAt = evaluation.at;
    const provisional = evaluateSources(policy, view, { from: evaluation.at + 1, body: { state: 'absent' }, nowSeconds: this.nowSeconds(), provisional: true });
    return {
      request_headers: { response: this.commonFor(provisional) },
      mode_override: bufferedBodyMode(policy.mint !== undefined),
    };
  }

  private onRequestBody(chunk: Uint8Array, endOfStream: boolean): ProcessingResponse {
    if (this.phase !== 'awaitingBody' || !this.resolved || !this.view) return { request_body: {} };
    const { policy } = this.resolved;
    let body: BodyInput | undefined;
    this.bodyBytes += chunk.length;
    if (this.bodyBytes > policy.maxBodyBytes) {
      this.chunks = [];
      body = { state: 'oversized' };
    } else {
      if (chunk.length > 0) this.chunks.push(Buffer.from(chunk.buffer, chunk.byteOffset, chunk.length));
      const bytes = this.chunks.length === 1 ? this.chunks[0]! : Buffer.concat(this.chunks, this.bodyBytes);
      // In BUFFERED mode Envoy sends the whole body in one message, with end_of_stream false
      // when trailers follow; a body that already parses as a JSON document is complete.
      const parsed = endOfStream ? undefined : parseIfComplete(bytes);
      if (endOfStream || parsed) body = { state: 'complete', bytes, parsed };
    }
    if (!body) return { request_body: {} };
    this.chunks = [];
    const evaluation = evaluateSources(policy, this.view, { from: this.resumeAt, body, nowSeconds: this.nowSeconds() });
    return this.decide(evaluation, 'request_body');
  }

  private onResponseHeaders(): ProcessingResponse {
    const mint = this.resolved?.policy.mint;
    if (this.minted === undefined || !mint || this.phase === 'rejected') return { response_headers: {} };
    const cookie: HeaderValueOption = {
      header: this.headerValue('set-cookie', `${mint.name}=${this.minted}${mint.attributes}`),
      // Append, never overwriting the upstream's own cookies. Envoy's ext_proc reads
      // append_action only when it is non-zero (and many releases never read it), falling back
      // to the deprecated `append` (default false = overwrite). APPEND_IF_EXISTS_OR_ADD is 0,
      // so `append: true` is what appends on every version.
      append: { value: true },
    };
    return { response_headers: { response: { header_mutation: { set_headers: [cookie] } } } };
  }

  /** The final decision, answered in a response of the kind of the message that led to it. */
  private decide(evaluation: Evaluation, kind: 'request_headers' | 'request_body'): ProcessingResponse {
    const { stats, logger } = this.deps;
    const service = this.resolved!.service;
    if (evaluation.kind === 'reject') {
      this.phase = 'rejected';
      this.minted = undefined;
      stats.rejected++;
      if (logger.isLevelEnabled('debug')) logger.debug({ service, source: evaluation.source, reason: evaluation.reason, status: evaluation.status }, 'ext_proc: request rejected (fail-closed)');
      return {
        immediate_response: {
          status: { code: evaluation.status },
          body: Buffer.from(REJECT_BODY[evaluation.status]),
          details: `tether_session_key_${evaluation.reason}`,
        },
      };
    }
    this.phase = 'decided';
    const common = this.commonFor(evaluation);
    if (evaluation.kind === 'key') stats.keysBySource[evaluation.source] = (stats.keysBySource[evaluation.source] ?? 0) + 1;
    else if (this.minted !== undefined) stats.minted++;
    else stats.noKey++;
    return kind === 'request_headers' ? { request_headers: { response: common } } : { request_body: { response: common } };
  }

  /** Header mutation for an evaluation (a provisional one may still be overwritten by the body's). */
  private commonFor(evaluation: Evaluation): CommonResponse {
    const policy = this.resolved!.policy;
    const view = this.view!;
    let key: string | undefined;
    let source: string;
    if (evaluation.kind === 'key') {
      key = evaluation.key;
      source = evaluation.source;
      this.minted = undefined;
    } else if (policy.mint) {
      // A provisional pass may have minted already: the final decision reuses that id.
      this.minted ??= mintSessionId();
      key = this.minted;
      source = 'minted';
    } else {
      source = 'none';
    }

    const mutation: HeaderMutation = {};
    let routeAffected = false;
    if (key !== undefined) {
      const value = headerValueFor(key, policy.hashKey);
      // OVERWRITE_IF_EXISTS_OR_ADD for Envoys that read append_action; older ones overwrite
      // because `append` is unset (false).
      const set: HeaderValueOption[] = [{ header: this.headerValue(policy.targetHeader, value), append_action: 'OVERWRITE_IF_EXISTS_OR_ADD' }];
      const { bucket, fingerprint } = bucketOf(value);
      if (policy.bucketHeader !== undefined) {
        set.push({ header: this.headerValue(policy.bucketHeader, String(bucket)), append_action: 'OVERWRITE_IF_EXISTS_OR_ADD' });
        routeAffected = true;
      }
      mutation.set_headers = set;
      if (this.deps.logger.isLevelEnabled('debug')) {
        this.deps.logger.debug({ service: this.resolved!.service, source, keyHash: fingerprint, bucket, phase: this.phase }, 'ext_proc: session key');
      }
    } else {
      // No key: drop client-sent copies so nobody picks their own replica or canary bucket.
      const remove: string[] = [];
      if (view.header(policy.targetHeader) !== undefined) remove.push(policy.targetHeader);
      if (policy.bucketHeader !== undefined && view.header(policy.bucketHeader) !== undefined) {
        remove.push(policy.bucketHeader);
        routeAffected = true;
      }
      if (remove.length > 0) mutation.remove_headers = remove;
      if (this.deps.logger.isLevelEnabled('debug')) this.deps.logger.debug({ service: this.resolved!.service, source, phase: this.phase }, 'ext_proc: no session key');
    }
    const common: CommonResponse = {};
    if (mutation.set_headers || mutation.remove_headers) common.header_mutation = mutation;
    // The hash policy reads the target header without re-matching; routes that match on the
    // bucket header only see it after the route cache is cleared.
    if (routeAffected && policy.clearRouteCache) common.clear_route_cache = true;
    return common;
  }

  private headerValue(key: string, value: string): { key: string; raw_value?: Buffer; value?: string } {
    return this.view?.rawValues === false ? { key, value } : { key, raw_value: Buffer.from(value, 'utf8') };
  }

  private nowSeconds(): number {
    return Math.floor(this.deps.now() / 1000);
  }
}

/** A no-op answer of the kind Envoy expects for this message (for messages not asked for). */
export function continueResponse(req: ProcessingRequestIn): ProcessingResponse | undefined {
  if (req.request_headers) return { request_headers: {} };
  if (req.request_body) return { request_body: {} };
  if (req.response_headers) return { response_headers: {} };
  if (req.response_body) return { response_body: {} };
  if (req.request_trailers) return { request_trailers: {} };
  if (req.response_trailers) return { response_trailers: {} };
  return undefined;
}

/** The parsed body when it is a JSON object or array whose closing bracket has arrived. */
function parseIfComplete(bytes: Buffer): { ok: true; value: unknown } | undefined {
  let end = bytes.length - 1;
  while (end >= 0 && (bytes[end] === 0x20 || bytes[end] === 0x0a || bytes[end] === 0x0d || bytes[end] === 0x09)) end--;
  if (end < 0 || (bytes[end] !== 0x7d && bytes[end] !== 0x5d)) return undefined;
  try {
    return { ok: true, value: JSON.parse(bytes.toString('utf8')) };
  } catch {
    return undefined;
  }
}

/** Envoy's request attributes (one Struct per filter name) flattened to `name → string`. */
function flattenAttributes(attributes: ProcessingRequestIn['attributes'] | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  if (!attributes) return out;
  for (const struct of Object.values(attributes)) {
    for (const [name, value] of Object.entries(struct?.fields ?? {})) {
      if (typeof value?.stringValue === 'string' && value.stringValue !== '') out[name] = value.stringValue;
    }
  }
  return out;
}
