/**
 * The benchmark's generated config and what each simulated client subscribes to. Both the
 * runner (config, edits) and the load generator (subscriptions) derive everything from
 * (services, profile, client index), so no resource lists travel over IPC and clients never
 * need to decode Any payloads to learn names.
 *
 * Service i (`svc-<i>`): domain `svc-<i>.bench.local`, sticky on the `x-user` header (ring
 * hash, stable ring), two routes — `edit` (header `x-bench-edit` exact `e<k>`) then `default`
 * — both to backend `svc-<i>-v1`, which has three static replicas 10.a.b.{1,2,3}:8080. One
 * Envoy listener `http` on port 10000 (so Envoy nodes get one RouteConfiguration `http` holding
 * every service as a virtual host). An edit replaces svc-0's `edit` route with a new header
 * value: a one-route change that touches RDS only.
 */
import { ringShapeAssignmentName } from '../../src/translate/names';

export type Profile = 'envoy' | 'grpc';
export type Mode = 'sotw' | 'delta';

export const EDITED_SERVICE = 'svc-0';
export const EDITED_ROUTE = 'edit';
export const EDIT_HEADER = 'x-bench-edit';

export const serviceName = (i: number): string => `svc-${i}`;
export const backendName = (i: number): string => `svc-${i}-v1`;

function replicas(i: number): string[] {
  const a = (i >> 8) & 255;
  const b = i & 255;
  return [1, 2, 3].map((d) => `10.${a}.${b}.${d}:8080`);
}

export function editRoute(k: number): Record<string, unknown> {
  return {
    name: EDITED_ROUTE,
    match: { prefix: '/', headers: { [EDIT_HEADER]: { exact: `e${k}` } } },
    backends: [{ name: backendName(0) }],
  };
}

function service(i: number): Record<string, unknown> {
  return {
    name: serviceName(i),
    domains: [`${serviceName(i)}.bench.local`],
    affinity: { keys: [{ header: 'x-user' }] },
    routes: [i === 0 ? editRoute(0) : { ...editRoute(0), backends: [{ name: backendName(i) }] }, { name: 'default', backends: [{ name: backendName(i) }] }],
  };
}

/** The config document (file shape) for S services. */
export function configDocument(services: number): Record<string, unknown> {
  return {
    listeners: [{ name: 'http', port: 10000 }],
    services: Array.from({ length: services }, (_, i) => service(i)),
    backends: Array.from({ length: services }, (_, i) => ({ name: backendName(i), endpoints: replicas(i) })),
  };
}

/** The same config with svc-0's `edit` route at edit k (for offline build timing). */
export function editedDocument(services: number, k: number): Record<string, unknown> {
  const doc = configDocument(services);
  const svc0 = (doc.services as Record<string, unknown>[])[0]!;
  svc0.routes = [editRoute(k), (svc0.routes as unknown[])[1]];
  return doc;
}

/** Names one client subscribes to, per type ([] with wildcard = everything). */
export interface Subscription {
  kind: Profile;
  wildcard: { LDS: boolean; CDS: boolean };
  LDS: string[];
  RDS: string[];
  CDS: string[];
  EDS: string[];
}

let envoyNames: { services: number; eds: string[] } | undefined;

/**
 * The EDS name of backend i's endpoints: its services are sticky, so its cluster is a stable
 * ring whose endpoint set is named by ring shape (src/translate/assignment-names.ts): minimum
 * ring size = K × 3 equal replicas, K = 1024 for Envoy and 256 for gRPC (ring-sizing.ts).
 */
function edsName(i: number, profile: Profile): string {
  return ringShapeAssignmentName(backendName(i), 3 * (profile === 'envoy' ? 1024 : 256));
}

/**
 * envoy: full state like an Envoy sidecar or gateway — LDS and CDS wildcard, EDS for every
 * cluster, RDS for the listener's route config `http`.
 * grpc: like a proxyless gRPC client dialling `perClient` services: svc-0 (the edited one, which
 * every client uses) plus perClient−1 others spread over the config by client index; LDS and RDS
 * by service name, CDS and EDS by backend name.
 */
export function subscriptionOf(profile: Profile, services: number, perClient: number, index: number): Subscription {
  if (profile === 'envoy') {
    if (!envoyNames || envoyNames.services !== services) envoyNames = { services, eds: Array.from({ length: services }, (_, i) => edsName(i, 'envoy')) };
    return { kind: 'envoy', wildcard: { LDS: true, CDS: true }, LDS: [], CDS: [], EDS: envoyNames.eds, RDS: ['http'] };
  }
  const ids = new Set<number>([0]);
  for (let j = 0; ids.size < Math.min(perClient, services) && j < perClient * 4; j++) {
    ids.add(1 + ((index * (perClient - 1) + j) % Math.max(1, services - 1)));
  }
  const list = [...ids].filter((i) => i < services).sort((a, b) => a - b);
  const svcs = list.map(serviceName);
  const backends = list.map(backendName);
  return { kind: 'grpc', wildcard: { LDS: false, CDS: false }, LDS: svcs, RDS: svcs, CDS: backends, EDS: list.map((i) => edsName(i, 'grpc')) };
}
