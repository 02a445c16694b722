/**
 * The xDS resource types Tether serves, in one table: type URL, message, the short name people
 * and logs use (LDS…), the `type` label of metrics, the push order (make-before-break), whether
 * a subscription may be wildcard, the EnvoyResources list holding them, how a resource's name is
 * found and which type its resources name. Everything else derives from it.
 */
import type { EnvoyMessageName } from './messages';
import type { EnvoyResources } from './resources';

/** Every type URL starts so; the rest is the message's full name. Other type URLs in src/ are built from it. */
export const TYPE_PREFIX = 'type.googleapis.com/';

/** A type URL's message name, as a type: `type.googleapis.com/a.b.C` → `'a.b.C'` (what encodeMessage takes). */
export type MessageOf<T extends string> = T extends `${typeof TYPE_PREFIX}${infer M}` ? M : never;

export const LISTENER_TYPE = 'type.googleapis.com/envoy.config.listener.v3.Listener';
export const ROUTE_TYPE = 'type.googleapis.com/envoy.config.route.v3.RouteConfiguration';
export const CLUSTER_TYPE = 'type.googleapis.com/envoy.config.cluster.v3.Cluster';
export const ENDPOINT_TYPE = 'type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment';
/** SDS over the ADS stream: a TLS listener's certificate (translate/listener-edge.ts). */
export const SECRET_TYPE = 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.Secret';
/**
 * Virtual hosts on their own (VHDS): served only to delta Envoy nodes that opt in
 * (xds/vhds.ts); not one of the snapshot's types (derived from its route configurations).
 */
export const VIRTUAL_HOST_TYPE = 'type.googleapis.com/envoy.config.route.v3.VirtualHost';

/** The types a snapshot holds. */
export type ResourceTypeUrl = typeof LISTENER_TYPE | typeof ROUTE_TYPE | typeof CLUSTER_TYPE | typeof ENDPOINT_TYPE | typeof SECRET_TYPE;
/** Every type a stream may serve. */
export type StreamTypeUrl = ResourceTypeUrl | typeof VIRTUAL_HOST_TYPE;

export interface ResourceType<T extends StreamTypeUrl = StreamTypeUrl> {
  readonly typeUrl: T;
  /** The message's full name, `envoy.config.listener.v3.Listener`: the name encodeMessage and the protos know it by. */
  readonly message: MessageOf<T>;
  /** How people, logs and the admin API name the type. */
  readonly short: 'LDS' | 'RDS' | 'CDS' | 'EDS' | 'SDS' | 'VHDS';
  /** The `type` label of Tether's metrics. */
  readonly label: string;
  /** LDS and CDS subscriptions may be wildcard (VHDS: by route-config prefix); RDS, EDS, SDS are by name. */
  readonly wildcard: boolean;
  /** The EnvoyResources list that holds them (none for virtual hosts, cut from route configurations). */
  readonly resources?: keyof EnvoyResources;
  /** The field that names a resource (a ClusterLoadAssignment is named by its cluster_name). */
  readonly nameField: 'name' | 'cluster_name';
  /** The type a resource of this type names resources of (xDS references, cache/references.ts). */
  readonly references?: ResourceTypeUrl;
  /** Shown in Envoy's config order (listeners, routes, clusters, endpoints) in diffs, status and dumps. */
  readonly shown: boolean;
}

/**
 * In push order: a change is pushed so that nothing refers to what the client lacks: clusters
 * first, then their endpoints, then the secrets listeners name, then listeners, then the routes
 * that point at them (and, over VHDS, the virtual hosts of those routes).
 */
export const RESOURCE_TYPES = [
  { typeUrl: CLUSTER_TYPE, message: messageOf(CLUSTER_TYPE), short: 'CDS', label: 'cluster', wildcard: true, resources: 'clusters', nameField: 'name', references: ENDPOINT_TYPE, shown: true },
  { typeUrl: ENDPOINT_TYPE, message: messageOf(ENDPOINT_TYPE), short: 'EDS', label: 'endpoint', wildcard: false, resources: 'endpoints', nameField: 'cluster_name', shown: true },
  { typeUrl: SECRET_TYPE, message: messageOf(SECRET_TYPE), short: 'SDS', label: 'secret', wildcard: false, resources: 'secrets', nameField: 'name', shown: false },
  { typeUrl: LISTENER_TYPE, message: messageOf(LISTENER_TYPE), short: 'LDS', label: 'listener', wildcard: true, resources: 'listeners', nameField: 'name', references: ROUTE_TYPE, shown: true },
  { typeUrl: ROUTE_TYPE, message: messageOf(ROUTE_TYPE), short: 'RDS', label: 'route', wildcard: false, resources: 'routes', nameField: 'name', references: CLUSTER_TYPE, shown: true },
  { typeUrl: VIRTUAL_HOST_TYPE, message: messageOf(VIRTUAL_HOST_TYPE), short: 'VHDS', label: 'virtual_host', wildcard: true, nameField: 'name', references: CLUSTER_TYPE, shown: false },
] as const satisfies readonly ResourceType[];

const SNAPSHOT_TYPES = RESOURCE_TYPES.filter((t): t is Extract<(typeof RESOURCE_TYPES)[number], { typeUrl: ResourceTypeUrl }> => t.typeUrl !== VIRTUAL_HOST_TYPE);

const BY_URL: ReadonlyMap<string, ResourceType> = new Map(RESOURCE_TYPES.map((t) => [t.typeUrl, t]));

/** A type's row; undefined for a type Tether does not serve. */
export function resourceType(typeUrl: string): ResourceType | undefined {
  return BY_URL.get(typeUrl);
}

/** The snapshot's types in push order (make-before-break). */
export const PUSH_ORDER: readonly ResourceTypeUrl[] = SNAPSHOT_TYPES.map((t) => t.typeUrl);

/** Every type a delta stream with VHDS serves, in push order. */
export const STREAM_PUSH_ORDER: readonly StreamTypeUrl[] = RESOURCE_TYPES.map((t) => t.typeUrl);

/** The types a subscription may name with a wildcard. */
export const WILDCARD_TYPES: ReadonlySet<string> = new Set(RESOURCE_TYPES.filter((t) => t.wildcard).map((t) => t.typeUrl));

export const SHORT_NAMES: Readonly<Record<StreamTypeUrl, ResourceType['short']>> = Object.fromEntries(RESOURCE_TYPES.map((t) => [t.typeUrl, t.short])) as Record<StreamTypeUrl, ResourceType['short']>;

/** The `type` label of metrics. */
export const TYPE_LABELS: Readonly<Record<StreamTypeUrl, string>> = Object.fromEntries(RESOURCE_TYPES.map((t) => [t.typeUrl, t.label])) as Record<StreamTypeUrl, string>;

/** The type whose resources a resource of each type names: listener → route config → cluster → assignment. */
export const REFERENCED_TYPE: Readonly<Partial<Record<ResourceTypeUrl, ResourceTypeUrl>>> = Object.fromEntries(
  SNAPSHOT_TYPES.flatMap((t) => ('references' in t ? [[t.typeUrl, t.references]] : [])),
) as Partial<Record<ResourceTypeUrl, ResourceTypeUrl>>;

/** Short names of the types shown to people, in Envoy's config order: LDS, RDS, CDS, EDS. */
export type ResourceTypeName = 'LDS' | 'RDS' | 'CDS' | 'EDS';
const SHOWN_ORDER: readonly ResourceTypeName[] = ['LDS', 'RDS', 'CDS', 'EDS'];

/** The shown types in that order, with their rows. */
export const SHOWN_TYPES: ReadonlyArray<ResourceType<ResourceTypeUrl> & { readonly short: ResourceTypeName }> = SHOWN_ORDER.map(
  (short) => SNAPSHOT_TYPES.find((t) => t.short === short && t.shown)! as ResourceType<ResourceTypeUrl> & { readonly short: ResourceTypeName },
);
/** LDS, RDS, CDS, EDS. */
export const SHOWN_TYPE_NAMES: readonly ResourceTypeName[] = SHOWN_ORDER;

/**
 * The types node status lists (GetStatus, `tether status`, the console), as people read them:
 * the shown types, a VHDS node's virtual hosts right after the route configurations they belong
 * to, and last the secrets of TLS listeners. VHDS is its own type there and in metrics, never
 * counted as RDS.
 */
export const STATUS_TYPES: readonly StreamTypeUrl[] = [
  ...SHOWN_TYPES.flatMap<StreamTypeUrl>((t) => (t.typeUrl === ROUTE_TYPE ? [t.typeUrl, VIRTUAL_HOST_TYPE] : [t.typeUrl])),
  SECRET_TYPE,
];

export function isResourceTypeUrl(typeUrl: string): typeUrl is ResourceTypeUrl {
  return typeUrl !== VIRTUAL_HOST_TYPE && BY_URL.has(typeUrl);
}

/** `type.googleapis.com/a.b.C` → `a.b.C`. */
export function messageNameOf(typeUrl: string): string {
  return typeUrl.startsWith(TYPE_PREFIX) ? typeUrl.slice(TYPE_PREFIX.length) : typeUrl;
}

/**
 * A served type's message name, typed for the encoder: `encodeMessage(messageOf(ROUTE_TYPE), rc)`
 * takes a RouteConfiguration. Code outside this file names these messages only through it.
 */
export function messageOf<T extends StreamTypeUrl>(typeUrl: T): MessageOf<T> {
  return typeUrl.slice(TYPE_PREFIX.length) as MessageOf<T>;
}

/** Every served type's message is one the encoder types (envoy/messages.ts): a new row without its entry there does not compile. */
export const SERVED_MESSAGES: readonly EnvoyMessageName[] = RESOURCE_TYPES.map((t) => t.message);
