import { status as GrpcStatus } from '@grpc/grpc-js';
import type { Logger } from 'pino';
import type { Snapshot } from '../cache/snapshot';
import type { SnapshotSource } from '../cache/snapshot-cache';
import { isResourceTypeUrl, SHORT_NAMES, type ResourceTypeUrl } from '../envoy/type-urls';
import type { NodeKind } from '../translate/types';
import type { RequestNode } from './discovery-codec';
import { classifyNode, nodeTarget } from './node-kind';
import type { NodeStatusListener } from './node-status';

export interface StreamBaseOptions {
  streamId: string;
  cache: SnapshotSource;
  /** Parent logger; the stream logs through a child with `node` and `kind`. */
  logger: Logger;
  status?: NodeStatusListener;
  /** Pre-encoded envoy.config.core.v3.ControlPlane put in every response. */
  controlPlane?: Buffer;
  /** Ends the call with an error status (the stream closes itself afterwards). */
  fail(code: GrpcStatus, details: string): void;
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
  protected log: Logger;
  protected snapshot?: Snapshot;
  protected closed = false;
  private unwatch?: () => void;
  private appliedConfigVersion?: string;
  /** `configVersion\ntypeUrl` of the blocked state last reported, if blocked. */
  private blockedKey?: string;
  private readonly ignoredTypes = new Set<string>();

  constructor(
    protected readonly options: Options,
    private readonly protocol: 'sotw' | 'delta',
  ) {
    this.log = options.logger.child({ stream: options.streamId });
  }

  get streamId(): string {
    return this.options.streamId;
  }

  /** Stops watching and reports the stream gone. Idempotent. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.unwatch?.();
    if (this.kind) {
      this.report((s) => s.streamClosed(this.options.streamId));
      this.log.info('xDS stream closed');
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
    const kind = classifyNode(node);
    // The snapshot follows the node's API level too (older Envoys: translate/targets.ts).
    const target = nodeTarget(node);
    this.kind = kind;
    this.log = this.options.logger.child({ node: node.id, kind, ...(target !== kind ? { target } : {}), stream: this.options.streamId, protocol: this.protocol });
    const userAgent = [node.user_agent_name, node.user_agent_version || buildVersionText(node)].filter(Boolean).join('/');
    this.report((s) =>
      s.streamOpened({ streamId: this.options.streamId, nodeId: node.id, cluster: node.cluster, kind, userAgent, connectedAt: new Date() }),
    );
    this.snapshot = this.options.cache.get(target);
    this.unwatch = this.options.cache.watch(target, (snapshot) => {
      if (this.closed) return;
      this.snapshot = snapshot;
      this.guarded(() => this.evaluate());
    });
    this.log.info({ cluster: node.cluster, userAgent, configVersion: this.snapshot?.configVersion }, 'xDS stream opened');
    return true;
  }

  /** The request's type if Tether serves it; other types are ignored (and logged once). */
  protected servedType(typeUrl: string): ResourceTypeUrl | undefined {
    if (isResourceTypeUrl(typeUrl)) return typeUrl;
    if (!this.ignoredTypes.has(typeUrl)) {
      this.ignoredTypes.add(typeUrl);
      this.log.warn({ typeUrl }, 'ignoring requests for a resource type Tether does not serve');
    }
    return undefined;
  }

  /** Reports the snapshot's config version once (per version) when `applied` says the stream has it all. */
  protected reportApplied(snapshot: Snapshot, applied: () => boolean): void {
    if (this.appliedConfigVersion === snapshot.configVersion || !applied()) return;
    this.appliedConfigVersion = snapshot.configVersion;
    this.log.info({ configVersion: snapshot.configVersion }, 'config applied');
    this.report((s) => s.configApplied(this.options.streamId, snapshot.configVersion));
  }

  /**
   * Reports whether the stream is stuck on the snapshot: `typeUrl` when what the node should
   * hold of it is exactly the version it rejected (not resent before the node ACKs another of
   * that type, which it cannot while stuck here), so nothing moves until the
   * config changes. Reported on change only; status and WaitForRollout show it as a failure
   * rather than letting a wait run into its timeout.
   */
  protected reportBlocked(snapshot: Snapshot, typeUrl: ResourceTypeUrl | undefined): void {
    const key = typeUrl && `${snapshot.configVersion}\n${typeUrl}`;
    if (key === this.blockedKey) return;
    this.blockedKey = key;
    if (typeUrl) {
      this.log.warn(
        { configVersion: snapshot.configVersion, typeUrl: SHORT_NAMES[typeUrl] },
        'config blocked: the node rejected exactly this version of the type; waiting for a config change',
      );
      this.report((s) => s.configBlocked(this.options.streamId, { configVersion: snapshot.configVersion, typeUrl }));
    } else {
      this.report((s) => s.configBlocked(this.options.streamId, undefined));
    }
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
