import { status as GrpcStatus } from '@grpc/grpc-js';
import type { Logger } from 'pino';
import type { Snapshot } from '../cache/snapshot';
import type { SnapshotSource } from '../cache/snapshot-cache';
import { isResourceTypeUrl, resourceType, SHORT_NAMES, type ResourceTypeUrl, type StreamTypeUrl } from '../envoy/resource-types';
import type { NodeKind } from '../model/node-targets';
import { createLogLimiter, type LogLimiter } from '../util/log-limiter';
import type { ErrorDetail, RequestNode } from './discovery-codec';
import { XDS_LIMITS, truncateText } from './limits';
import { classifyNode, nodeTarget } from './node-kind';
import type { NodeStatusListener } from './node-status';
import { StreamShares } from './stream-shares';

export interface StreamBaseOptions {
  streamId: string;
  cache: SnapshotSource;
  /** Parent logger; the stream logs through a child with `node` and `kind`. */
  logger: Logger;
  status?: NodeStatusListener;
  /** Pre-encoded envoy.config.core.v3.ControlPlane put in every response. */
  controlPlane?: Buffer;
  /**
   * What the server's streams share (per-snapshot plans, diffs, encoded responses); its
   * control plane is the one responses carry. Default: the stream's own (nothing shared).
   */
  shares?: StreamShares;
  /** Ends the call with an error status (the stream closes itself afterwards). */
  fail(code: GrpcStatus, details: string): void;
  /**
   * Rate limits for the lines a client can cause at will, shared by the server's streams so
   * that they hold per node id (default: the stream's own).
   */
  logLimits?: StreamLogLimits;
}

export interface StreamLogLimits {
  /** Warnings: XDS_LIMITS.logIntervalMs. */
  warnings: LogLimiter;
  /** `xDS push` lines: XDS_LIMITS.pushLogIntervalMs. */
  pushes: LogLimiter;
}

export function createStreamLogLimits(): StreamLogLimits {
  return { warnings: createLogLimiter(XDS_LIMITS.logIntervalMs), pushes: createLogLimiter(XDS_LIMITS.pushLogIntervalMs) };
}

/** Envoy reports `user_agent_build_version` instead of `user_agent_version`: "1.40.0". */
function buildVersionText(node: RequestNode): string {
  const v = node.user_agent_build_version?.version as { major_number?: number; minor_number?: number; patch?: number } | null | undefined;
  return v && (v.major_number || v.minor_number) ? `${v.major_number ?? 0}.${v.minor_number ?? 0}.${v.patch ?? 0}` : '';
}

/**
 * What SotW and delta ADS streams share: learning the node from the first request, watching
 * its kind's snapshot, reporting to the status listener, and failing safely. Subclasses
 * decide what to push in `evaluate()`, which runs after every request and snapshot.
 */
export abstract class AdsStreamBase<Options extends StreamBaseOptions> {
  protected kind?: NodeKind;
  /** Made on first use (see `log`): most streams never write a line of their own. */
  private childLog?: Logger;
  private target?: string;
  protected snapshot?: Snapshot;
  protected closed = false;
  private unwatch?: () => void;
  private appliedConfigVersion?: string;
  /** `configVersion\ntypeUrl` of the blocked state last reported, if blocked. */
  private blockedKey?: string;
  private nodeIdValue?: string;
  private readonly logLimits: StreamLogLimits;
  protected readonly shares: StreamShares;

  constructor(
    protected readonly options: Options,
    private readonly protocol: 'sotw' | 'delta',
  ) {
    this.logLimits = options.logLimits ?? createStreamLogLimits();
    this.shares = options.shares ?? new StreamShares(options.controlPlane);
  }

  get streamId(): string {
    return this.options.streamId;
  }

  /** The node id from the stream's first request (undefined before). */
  get nodeId(): string | undefined {
    return this.nodeIdValue;
  }

  /**
   * The stream's logger: a child of the server's with `node`, `kind` (and `target`), `stream` and
   * `protocol`, made when the stream first logs through it. A pino child costs about 600 bytes,
   * and at the usual levels a stream writes nothing but its info lines, which go through `info`.
   */
  protected get log(): Logger {
    return (this.childLog ??= this.options.logger.child(this.logBindings()));
  }

  private logBindings(): Record<string, unknown> {
    if (!this.kind) return { stream: this.options.streamId };
    return { node: this.nodeIdValue, kind: this.kind, ...(this.target !== this.kind ? { target: this.target } : {}), stream: this.options.streamId, protocol: this.protocol };
  }

  /** Whether lines of `level` are written (asked of the server's logger: no child made for it). */
  protected logEnabled(level: 'debug' | 'info'): boolean {
    return this.options.logger.isLevelEnabled(level);
  }

  /** An info line with the stream's fields, through the server's logger (same output as the child's). */
  private info(fields: Record<string, unknown>, message: string): void {
    if (this.childLog) this.childLog.info(fields, message);
    else if (this.logEnabled('info')) this.options.logger.info({ ...this.logBindings(), ...fields }, message);
  }

  /** `xDS push` lines are written (info): otherwise a push neither builds one nor asks the rate limit. */
  protected get pushLogged(): boolean {
    return this.logEnabled('info');
  }

  /** Stops watching and reports the stream gone. Idempotent. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.unwatch?.();
    if (this.kind) {
      this.report((s) => s.streamClosed(this.options.streamId));
      this.info({}, 'xDS stream closed');
    }
  }

  protected abstract evaluate(): void;

  /** Runs `fn` for one request; an exception ends the stream with INTERNAL. */
  protected guarded(fn: () => void): void {
    if (this.closed) return;
    try {
      fn();
    } catch (err) {
      this.abort(err);
    }
  }

  /** The first request: false (and the stream failed) when it carries no node. */
  protected startIfNeeded(node: RequestNode | null): boolean {
    if (this.kind) return true;
    if (!node) {
      this.options.fail(GrpcStatus.INVALID_ARGUMENT, 'the first request on a stream must carry node');
      this.close();
      return false;
    }
    if (node.id.length > XDS_LIMITS.maxNodeIdChars) {
      this.refuse('node.id', `${node.id.length} characters, more than the ${XDS_LIMITS.maxNodeIdChars} allowed`);
      return false;
    }
    const kind = classifyNode(node);
    // The snapshot follows the node's API level too (older Envoys: model/node-targets.ts).
    const target = nodeTarget(node);
    this.kind = kind;
    this.nodeIdValue = node.id;
    this.target = target;
    this.childLog = undefined;
    // Client-controlled text the registry keeps and status shows: capped.
    const field = (text: string) => truncateText(text, XDS_LIMITS.maxNodeFieldChars);
    const cluster = field(node.cluster);
    const userAgent = [field(node.user_agent_name), field(node.user_agent_version || buildVersionText(node))].filter(Boolean).join('/');
    this.report((s) => s.streamOpened({ streamId: this.options.streamId, nodeId: node.id, cluster, kind, userAgent, connectedAt: new Date() }));
    this.snapshot = this.options.cache.get(target);
    this.unwatch = this.options.cache.watch(target, (snapshot) => {
      if (this.closed) return;
      this.snapshot = snapshot;
      this.guarded(() => this.evaluate());
    });
    this.info({ cluster, userAgent, configVersion: this.snapshot?.configVersion }, 'xDS stream opened');
    return true;
  }

  /**
   * The request's type if Tether serves it. Other types get no response (as from a server
   * that has no resources of that type yet) and leave no state behind; they are logged at
   * most once per node and interval.
   */
  protected servedType(typeUrl: string): ResourceTypeUrl | undefined {
    // The table's own string, not the request's copy: every map and object keyed by type URL
    // (the stream's, the registry's, the metrics') then finds it without hashing and comparing
    // ~60 characters again, once per ACK each.
    if (isResourceTypeUrl(typeUrl)) return resourceType(typeUrl)!.typeUrl as ResourceTypeUrl;
    this.warnLimited('unknown type', { typeUrl: truncateText(typeUrl, XDS_LIMITS.maxTypeUrlBytes) }, 'ignoring requests for a resource type Tether does not serve');
    return undefined;
  }

  /** A warning a client can cause at will: at most one per node and `key` per interval. */
  protected warnLimited(key: string, fields: Record<string, unknown>, message: string): void {
    const held = this.logLimits.warnings.admit(`${this.nodeIdValue ?? ''}\n${key}`);
    if (held !== undefined) this.log.warn(held > 0 ? { ...fields, heldBack: held } : fields, message);
  }

  /**
   * An `xDS push` line: at most one per stream and type per second (a client changing its
   * subscription causes a push each time). Per stream, not per node id: fleets that give every
   * proxy the same id still see each one's pushes.
   */
  protected logPush(typeUrl: StreamTypeUrl, fields: Record<string, unknown>): void {
    if (!this.pushLogged) return;
    const held = this.logLimits.pushes.admit(`${this.options.streamId}\n${typeUrl}`);
    if (held !== undefined) this.info({ typeUrl: SHORT_NAMES[typeUrl], ...fields, ...(held > 0 ? { heldBack: held } : {}) }, 'xDS push');
  }

  /**
   * Logs (rate-limited, the message cut to maxLoggedErrorDetailChars) and reports (the message
   * cut to maxErrorDetailChars) a NACK of `version`.
   */
  protected reportNack(typeUrl: StreamTypeUrl, version: string, nonce: string, detail: ErrorDetail, fields: Record<string, unknown> = {}): void {
    const cutFrom = detail.messageBytes !== undefined ? `${detail.messageBytes} bytes` : undefined;
    // Per config version: each config a node rejects is logged; repeats within one are not.
    this.warnLimited(
      `nack\n${this.snapshot?.configVersion ?? ''}\n${typeUrl}`,
      { typeUrl: SHORT_NAMES[typeUrl], version, nonce, error: truncateText(detail.message, XDS_LIMITS.maxLoggedErrorDetailChars, cutFrom), ...fields },
      'xDS NACK',
    );
    const message = truncateText(detail.message, XDS_LIMITS.maxErrorDetailChars, cutFrom);
    this.report((s) => s.nacked(this.options.streamId, typeUrl, version, nonce, message));
  }

  /** Reports the snapshot's config version once (per version) when `applied` says the stream has it all. */
  protected reportApplied(snapshot: Snapshot, applied: () => boolean): void {
    if (this.appliedConfigVersion === snapshot.configVersion || !applied()) return;
    this.appliedConfigVersion = snapshot.configVersion;
    this.info({ configVersion: snapshot.configVersion }, 'config applied');
    this.report((s) => s.configApplied(this.options.streamId, snapshot.configVersion));
  }

  /**
   * Reports whether the stream is stuck on the snapshot: `typeUrl` when what the node should
   * hold of it is exactly the version it rejected (not resent before the node ACKs another of
   * that type, which it cannot while stuck here), so nothing moves until the
   * config changes. Reported on change only; status and WaitForRollout show it as a failure
   * rather than letting a wait run into its timeout.
   */
  protected reportBlocked(snapshot: Snapshot, typeUrl: StreamTypeUrl | undefined): void {
    const key = typeUrl && `${snapshot.configVersion}\n${typeUrl}`;
    if (key === this.blockedKey) return;
    this.blockedKey = key;
    if (typeUrl) {
      this.warnLimited(
        `blocked\n${snapshot.configVersion}\n${typeUrl}`,
        { configVersion: snapshot.configVersion, typeUrl: SHORT_NAMES[typeUrl] },
        'config blocked: the node rejected exactly this version of the type; waiting for a config change',
      );
      this.report((s) => s.configBlocked(this.options.streamId, { configVersion: snapshot.configVersion, typeUrl }));
    } else {
      this.report((s) => s.configBlocked(this.options.streamId, undefined));
    }
  }

  /** Ends the stream with INVALID_ARGUMENT for a request beyond XDS_LIMITS (logged, rate-limited). */
  protected refuse(field: string, reason: string): void {
    const details = `${field}: ${reason}`;
    this.warnLimited('refused', { reason: details }, 'xDS request refused');
    this.options.fail(GrpcStatus.INVALID_ARGUMENT, details);
    this.close();
  }

  protected report(fn: (listener: NodeStatusListener) => void): void {
    const listener = this.options.status;
    if (!listener) return;
    try {
      fn(listener);
    } catch (err) {
      this.log.error({ err }, 'node status listener failed');
    }
  }

  private abort(err: unknown): void {
    this.log.error({ err }, 'xDS stream failed');
    this.options.fail(GrpcStatus.INTERNAL, 'control plane error');
    this.close();
  }
}
