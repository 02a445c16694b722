/**
 * The JSON the console's HTTP API answers with, shared by the server (src/console) and the
 * page (src/console/web), so both sides are type-checked against one shape. Explain, what-if
 * and status answers are the admin API's own messages (proto JSON field names).
 */

export interface ConsoleOverview {
  version: number;
  /** ISO 8601: when the current version was accepted. */
  appliedAt: string;
  services: ServiceView[];
  backends: BackendView[];
}

export interface ServiceView {
  name: string;
  domains: string[];
  /** The session keys in order, e.g. `header x-user`, `cookie tether-session (generated)`; empty → not sticky. */
  keys: string[];
  /** `ext_proc → x-tether-key` when a sessionKey policy gives the key (Envoy only). */
  sessionKey?: string;
  /** Strong stickiness (stateful sessions), e.g. `cookie tether-pin, strict`. */
  strong?: string;
  routes: RouteView[];
}

export interface RouteView {
  name: string;
  /** The match in words: `prefix /api, header x-beta = 1`. */
  match: string;
  backends: Array<{ backend: string; weight: number; share: number }>;
  /** `ring` or `header <name>`: users stay on their version across the split. */
  stickySplit?: string;
  mirrors: Array<{ backend: string; percent: number }>;
  /** A sticky split's progress: the last-listed backend is the canary. */
  canary?: CanaryView;
}

export interface CanaryView {
  backend: string;
  /** Its share of the split's weight (0–1). */
  weightShare: number;
  /** Its exact share of the sticky ring's sessions (0–1), when a kind of node is served the split as one ring. */
  sessionShare?: number;
  /** The kind of node whose ring `sessionShare` is (Envoy first). */
  sessionShareKind?: string;
}

export interface BackendView {
  name: string;
  /** `ring_hash (stable)`, `maglev 65537`, `round_robin`… */
  balancer: string;
  endpoints: Array<{ address: string; weight: number; drain: boolean; grpcPort?: number }>;
}

export interface RingsView {
  version: number;
  kind: string;
  rings: RingView[];
  /** Consistent-hash clusters not drawn (at most 50 are, per request). */
  more: number;
}

/** One consistent-hash cluster as a node kind builds it. */
export interface RingView {
  cluster: string;
  /** The services with a route to it. */
  services: string[];
  balancer: 'ring_hash' | 'maglev';
  /** Ring entries or table slots. */
  size: number;
  replicas: ReplicaArcShare[];
  /**
   * The hash space (ring) or table (maglev) around the circle, from 0 at the top, clockwise:
   * [start, end, replica index] in fractions of the circle. Exact runs, or, when there are too
   * many to draw, per-bin runs whose lengths still add up to each replica's exact share.
   */
  arcs: Array<[number, number, number]>;
  /** True when `arcs` are per-bin (see above). */
  binned: boolean;
  /** Binned: into how many equal bins the circle was cut (fewer with many replicas). */
  bins?: number;
}

export interface ReplicaArcShare {
  address: string;
  backends: string[];
  /** Exact share of the hash space (ring) or of the slots (maglev), 0–1. */
  share: number;
  /** Entries on the ring, or slots in the table. */
  entries: number;
}

/** `status`: per node and xDS type, like `istioctl proxy-status`. */
export type SyncState = 'SYNCED' | 'STALE' | 'NACKED' | 'NOT SENT';

export interface NodesView {
  version: number;
  /** The type columns: LDS, RDS, CDS, EDS, and VHDS (after RDS) or SDS (last) when a node reports them. */
  types: string[];
  nodes: NodeView[];
}

export interface NodeView {
  nodeId: string;
  cluster: string;
  kind: string;
  userAgent: string;
  appliedVersion: number;
  connectedAt: string;
  /** LDS, RDS, (VHDS,) CDS, EDS → state, with the NACK's error when NACKED. */
  types: Array<{ type: string; state: SyncState; sent: string; acked: string; error?: string }>;
}

export interface HistoryView {
  version: number;
  versions: Array<{ version: number; createdAt: string; source: string; description: string; restores?: number; author?: string }>;
}

export interface DiffView {
  from: number;
  to: number;
  kind: string;
  changes: Array<{ nodeKind: string; type: string; name: string; action: string; diff: string }>;
}

/** Server-sent event `change`: something the page shows changed; it re-reads what it shows. */
export interface ChangeEvent {
  version: number;
  /** Counts node status changes; a new value means re-read the nodes. */
  nodes: number;
}

export interface ApiError {
  error: string;
  fieldErrors?: Array<{ path: string; message: string }>;
}
