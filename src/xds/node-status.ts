import type { StreamTypeUrl } from '../envoy/resource-types';
import type { NodeKind } from '../model/node-targets';

/** Who is at the other end of one ADS stream. */
export interface StreamIdentity {
  streamId: string;
  nodeId: string;
  cluster: string;
  kind: NodeKind;
  /** `user_agent_name/user_agent_version`. */
  userAgent: string;
  connectedAt: Date;
}

/**
 * What xDS streams report as they go. The server calls these synchronously; an
 * implementation must be cheap and must not throw.
 */
export interface NodeStatusListener {
  // Types are the stream's own: a VHDS node's virtual hosts (VIRTUAL_HOST_TYPE) are reported as
  // such, not as the route configurations (RDS) they are cut from.
  streamOpened(identity: StreamIdentity): void;
  responseSent(streamId: string, typeUrl: StreamTypeUrl, version: string, nonce: string): void;
  /** The node applied `version` (an ACK, or the version a reconnecting node says it already has). */
  acked(streamId: string, typeUrl: StreamTypeUrl, version: string): void;
  nacked(streamId: string, typeUrl: StreamTypeUrl, version: string, nonce: string, message: string): void;
  /** Every type the node subscribes to is ACKed at the versions of the snapshot of `configVersion`. */
  configApplied(streamId: string, configVersion: string): void;
  /**
   * The stream cannot apply the snapshot of `configVersion`: what the node should hold of
   * `typeUrl` is exactly a version it rejected, which is not resent. `undefined`: no longer
   * blocked (a new snapshot, or the node moved on).
   */
  configBlocked(streamId: string, blocked: BlockedConfig | undefined): void;
  streamClosed(streamId: string): void;
}

export interface BlockedConfig {
  configVersion: string;
  typeUrl: StreamTypeUrl;
}

export interface TypeStatus {
  sentVersion?: string;
  sentNonce?: string;
  sentAt?: Date;
  ackedVersion?: string;
  ackedAt?: Date;
  lastNack?: { version: string; nonce: string; message: string; at: Date };
}

export interface NodeStatus extends StreamIdentity {
  types: Partial<Record<StreamTypeUrl, TypeStatus>>;
  /** The config version this stream has fully applied, if any. */
  appliedConfigVersion?: string;
  appliedAt?: Date;
  /** Set while the stream is stuck on a version the node NACKed (see configBlocked). */
  blocked?: BlockedConfig;
}

export type NodeStatusChange = (streamId: string) => void;

/**
 * A type's status as the registry keeps it: times as epoch milliseconds (a Date is ~40 bytes
 * more, and a stream has two per type); `copy` hands out TypeStatus with Dates.
 */
interface KeptTypeStatus {
  sentVersion?: string;
  sentNonce?: string;
  sentAtMs?: number;
  ackedVersion?: string;
  ackedAtMs?: number;
  lastNack?: TypeStatus['lastNack'];
}

interface KeptStatus extends Omit<NodeStatus, 'types'> {
  types: Partial<Record<StreamTypeUrl, KeptTypeStatus>>;
}

/** Keeps the status of every connected stream in memory; the admin API reads it. */
export class NodeRegistry implements NodeStatusListener {
  private readonly streams = new Map<string, KeptStatus>();
  private readonly listeners = new Set<NodeStatusChange>();

  streamOpened(identity: StreamIdentity): void {
    this.streams.set(identity.streamId, { ...identity, types: {} });
    this.changed(identity.streamId);
  }

  responseSent(streamId: string, typeUrl: StreamTypeUrl, version: string, nonce: string): void {
    this.update(streamId, typeUrl, (t) => {
      t.sentVersion = version;
      t.sentNonce = nonce;
      t.sentAtMs = Date.now();
    });
  }

  acked(streamId: string, typeUrl: StreamTypeUrl, version: string): void {
    this.update(streamId, typeUrl, (t) => {
      t.ackedVersion = version;
      t.ackedAtMs = Date.now();
    });
  }

  nacked(streamId: string, typeUrl: StreamTypeUrl, version: string, nonce: string, message: string): void {
    this.update(streamId, typeUrl, (t) => {
      t.lastNack = { version, nonce, message, at: new Date() };
    });
  }

  configApplied(streamId: string, configVersion: string): void {
    const s = this.streams.get(streamId);
    if (!s) return;
    s.appliedConfigVersion = configVersion;
    s.appliedAt = new Date();
    this.changed(streamId);
  }

  configBlocked(streamId: string, blocked: BlockedConfig | undefined): void {
    const s = this.streams.get(streamId);
    if (!s) return;
    if (blocked) s.blocked = { ...blocked };
    else delete s.blocked;
    this.changed(streamId);
  }

  streamClosed(streamId: string): void {
    if (this.streams.delete(streamId)) this.changed(streamId);
  }

  /** Calls `fn` after every change; returns the unsubscribe. */
  onChange(fn: NodeStatusChange): () => void {
    this.listeners.add(fn);
    return () => {
      this.listeners.delete(fn);
    };
  }

  get(streamId: string): NodeStatus | undefined {
    const s = this.streams.get(streamId);
    return s && copy(s);
  }

  /** Every connected stream, oldest first (copies: safe to keep or serialize). */
  list(kind?: NodeKind): NodeStatus[] {
    return [...this.streams.values()].filter((s) => !kind || s.kind === kind).map(copy);
  }

  /** Connected streams (of `kind`, if given) that have not fully applied `configVersion`. */
  lagging(configVersion: string, kind?: NodeKind): NodeStatus[] {
    return this.list(kind).filter((s) => s.appliedConfigVersion !== configVersion);
  }

  /**
   * Resolves true once every connected stream (of `kind`) has applied `configVersion`, or
   * false after `timeoutMs`. Nodes that disconnect stop counting; with no node, true at once.
   */
  waitForConfigVersion(configVersion: string, options: { kind?: NodeKind; timeoutMs: number }): Promise<boolean> {
    if (this.lagging(configVersion, options.kind).length === 0) return Promise.resolve(true);
    return new Promise((resolve) => {
      const done = (result: boolean): void => {
        clearTimeout(timer);
        unsubscribe();
        resolve(result);
      };
      const timer = setTimeout(() => done(false), options.timeoutMs);
      const unsubscribe = this.onChange(() => {
        if (this.lagging(configVersion, options.kind).length === 0) done(true);
      });
    });
  }

  private update(streamId: string, typeUrl: StreamTypeUrl, fn: (t: KeptTypeStatus) => void): void {
    const s = this.streams.get(streamId);
    if (!s) return;
    fn((s.types[typeUrl] ??= {}));
    this.changed(streamId);
  }

  private changed(streamId: string): void {
    // Every push and ACK of every stream comes here; usually nobody listens.
    if (this.listeners.size === 0) return;
    for (const fn of [...this.listeners]) fn(streamId);
  }
}

function copy(s: KeptStatus): NodeStatus {
  const types: NodeStatus['types'] = {};
  for (const [t, v] of Object.entries(s.types) as [StreamTypeUrl, KeptTypeStatus][]) {
    const { sentAtMs, ackedAtMs, lastNack, ...rest } = v;
    types[t] = {
      ...rest,
      ...(sentAtMs !== undefined ? { sentAt: new Date(sentAtMs) } : {}),
      ...(ackedAtMs !== undefined ? { ackedAt: new Date(ackedAtMs) } : {}),
      ...(lastNack ? { lastNack: { ...lastNack } } : {}),
    };
  }
  return { ...s, types, ...(s.blocked ? { blocked: { ...s.blocked } } : {}) };
}
