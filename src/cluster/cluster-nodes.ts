/**
 * `tether status` and `tether wait` on any instance see the nodes of every instance: each
 * instance publishes its own streams' status under `<prefix>nodes/<instance>` on an etcd lease
 * (gone within the lease TTL when the instance dies), and watches everyone else's.
 */
import type { Lease, Namespace, Watcher } from 'etcd3';
import type { Logger } from '../log';
import type { NodeKind } from '../model/node-targets';
import { NodeRegistry, type NodeStatus, type NodeStatusChange } from '../xds/node-status';

const NODES = 'nodes/';

/** A node status with the instance it is connected to (status shows it). */
export type ClusterNodeStatus = NodeStatus & { instance?: string };

/**
 * The registry the admin API reads: this instance's streams plus the ones other instances
 * published. Remote stream ids are `<instance>/<stream>`, so they never collide.
 */
export class ClusterNodeView extends NodeRegistry {
  private readonly remote = new Map<string, ClusterNodeStatus[]>();
  private readonly remoteListeners = new Set<NodeStatusChange>();

  constructor(
    private readonly local: NodeRegistry,
    readonly instance: string,
  ) {
    super();
  }

  override list(kind?: NodeKind): ClusterNodeStatus[] {
    const mine: ClusterNodeStatus[] = this.local.list(kind).map((n) => ({ ...n, instance: this.instance }));
    const others = [...this.remote.values()].flat().filter((n) => !kind || n.kind === kind);
    return [...mine, ...others.map((n) => structuredClone(n))];
  }

  override get(streamId: string): ClusterNodeStatus | undefined {
    return this.local.get(streamId) ?? this.list().find((n) => n.streamId === streamId);
  }

  override onChange(fn: NodeStatusChange): () => void {
    const off = this.local.onChange(fn);
    this.remoteListeners.add(fn);
    return () => {
      off();
      this.remoteListeners.delete(fn);
    };
  }

  /** Another instance's streams (undefined: it is gone). */
  setRemote(instance: string, nodes: ClusterNodeStatus[] | undefined): void {
    if (instance === this.instance) return;
    if (nodes) this.remote.set(instance, nodes.map((n) => ({ ...n, instance, streamId: `${instance}/${n.streamId}` })));
    else if (!this.remote.delete(instance)) return;
    for (const fn of this.remoteListeners) fn(instance);
  }

  /** Names of the other instances currently publishing. */
  instances(): string[] {
    return [...this.remote.keys()];
  }
}

const DATE_FIELDS = new Set(['connectedAt', 'sentAt', 'ackedAt', 'appliedAt', 'at']);

function decodeNodes(text: string): ClusterNodeStatus[] | undefined {
  try {
    const value = JSON.parse(text, (key, v: unknown) => (DATE_FIELDS.has(key) && typeof v === 'string' ? new Date(v) : v)) as unknown;
    return Array.isArray(value) ? (value as ClusterNodeStatus[]) : undefined;
  } catch {
    return undefined;
  }
}

export interface NodePublicationOptions {
  namespace: Namespace;
  view: ClusterNodeView;
  local: NodeRegistry;
  /** Seconds the published status outlives this instance. Default 10. */
  ttlSeconds?: number;
  /** Coalesce status changes for this long before publishing. Default 100 ms. */
  debounceMs?: number;
  logger: Logger;
}

export interface NodePublication {
  close(): Promise<void>;
}

/** Publishes this instance's streams and watches the other instances'. */
export async function startNodePublication(options: NodePublicationOptions): Promise<NodePublication> {
  const { namespace, view, local } = options;
  const log = options.logger.child({ component: 'cluster-nodes', instance: view.instance });
  const ttl = options.ttlSeconds ?? 10;
  const debounceMs = options.debounceMs ?? 100;
  const key = `${NODES}${view.instance}`;
  let closed = false;
  let lease: Lease | undefined;
  let timer: NodeJS.Timeout | undefined;
  let dirty = true;

  const newLease = (): Lease => {
    const l = namespace.lease(ttl);
    l.on('lost', (err) => {
      if (closed || lease !== l) return;
      log.warn({ err: err.message }, 'node status lease lost (etcd unreachable for longer than its TTL); republishing');
      lease = newLease();
      schedule();
    });
    return l;
  };

  const publish = async () => {
    timer = undefined;
    if (closed) return;
    dirty = false;
    lease ??= newLease();
    try {
      await lease.put(key).value(JSON.stringify(local.list()));
    } catch (err) {
      dirty = true;
      log.debug({ err: (err as Error).message }, 'could not publish node status; retrying');
      schedule(1000);
    }
  };
  function schedule(delay = debounceMs) {
    dirty = true;
    if (!timer && !closed) timer = setTimeout(() => void publish(), delay);
  }
  const offLocal = local.onChange(() => schedule());

  const apply = (k: string, value: string | undefined) => {
    const instance = k.slice(NODES.length);
    if (!instance) return;
    view.setRemote(instance, value === undefined ? undefined : decodeNodes(value));
  };
  let watcher: Watcher | undefined;
  try {
    const existing = await namespace.getAll().prefix(NODES).strings();
    for (const [k, v] of Object.entries(existing)) apply(k, v);
    watcher = await namespace.watch().prefix(NODES).create();
    watcher.on('put', (kv) => apply(kv.key.toString(), kv.value.toString()));
    watcher.on('delete', (kv) => apply(kv.key.toString(), undefined));
  } catch (err) {
    log.warn({ err: (err as Error).message }, 'could not read other instances\' nodes yet');
  }
  if (dirty) schedule(0);

  return {
    async close() {
      closed = true;
      clearTimeout(timer);
      offLocal();
      await watcher?.cancel().catch(() => undefined);
      // Leaving on purpose: the others drop this instance's nodes at once.
      await lease?.revoke().catch(() => undefined);
    },
  };
}
