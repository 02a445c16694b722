/**
 * A rendition view (rendition.ts): the hashing balancers Envoy nodes are served, for each
 * cluster a route sends to, read from the rendition's encoded snapshot and modelled by explain
 * (explain/cluster-view.ts servedHashBalancer). The session-share metrics
 * (metrics/session-share.ts) read this, so they show what is served without decoding resources
 * or modelling balancers themselves.
 */
import { CLUSTER_TYPE, ENDPOINT_TYPE } from '../envoy/resource-types';
import type { EnvoyResources } from '../envoy/resources';
import { servedHashBalancer, type ServedHashBalancer } from '../explain';
import type { RenditionView } from './rendition';

export type { ServedHashBalancer } from '../explain';

export interface ServedBalancer {
  /** Content hashes of the served Cluster and its ClusterLoadAssignment: equal signatures, equal balancers. */
  readonly signature: string;
  /**
   * Decodes the served bytes (each call: a reader plans a cluster once, a slice at a time, and
   * keeps what it needs); undefined when the cluster does not hash. Throws on unreadable bytes.
   */
  plan(): ServedHashBalancer | undefined;
}

export interface ServedBalancers {
  /** The clusters a route sends to whose policy may hash, in the served order. */
  readonly clusters: ReadonlyMap<string, ServedBalancer>;
  /** Cluster → the services (Envoy virtual host names) with a route that sends to it. */
  readonly services: ReadonlyMap<string, ReadonlySet<string>>;
}

/** The view for Envoy nodes: built once per rendition, without decoding anything. */
export const ENVOY_BALANCERS: RenditionView<ServedBalancers> = {
  name: 'balancers served to Envoy nodes',
  build(r) {
    const resources = r.resources.get('envoy');
    const snapshot = r.snapshots.get('envoy');
    const clusters = new Map<string, ServedBalancer>();
    const services = resources ? servicesByCluster(resources) : new Map<string, Set<string>>();
    if (!resources || !snapshot) return { clusters, services };
    for (const cluster of resources.clusters) {
      const name = cluster.name;
      if (!name || !services.has(name) || !mayHash(cluster)) continue;
      const clusterRes = snapshot.sets[CLUSTER_TYPE].resources.get(name);
      if (!clusterRes) continue;
      // The assignment the cluster names (its EDS service_name), as clients look it up.
      const claRes = snapshot.sets[ENDPOINT_TYPE].resources.get(clusterRes.refs[0] ?? name);
      clusters.set(name, {
        signature: `${clusterRes.hash}/${claRes?.hash ?? ''}`,
        plan: () => servedHashBalancer(clusterRes.anyBytes, claRes?.anyBytes, 'envoy'),
      });
    }
    return { clusters, services };
  },
};

/** Legacy lb_policy values (name or number) that hash, or a typed policy that may. */
function mayHash(cluster: EnvoyResources['clusters'][number]): boolean {
  const p = cluster.lb_policy as unknown;
  return p === 'RING_HASH' || p === 'MAGLEV' || p === 2 || p === 5 || (cluster.load_balancing_policy?.policies?.length ?? 0) > 0;
}

/** Cluster → the services (Envoy virtual host names) with a route that sends to it. */
function servicesByCluster(resources: EnvoyResources): Map<string, Set<string>> {
  const out = new Map<string, Set<string>>();
  const add = (cluster: string | undefined, service: string) => {
    if (!cluster) return;
    let set = out.get(cluster);
    if (!set) out.set(cluster, (set = new Set()));
    set.add(service);
  };
  for (const config of resources.routes) {
    for (const vh of config.virtual_hosts ?? []) {
      const service = vh.name ?? '';
      for (const route of vh.routes ?? []) {
        const action = route.route;
        if (!action) continue;
        add(action.cluster, service);
        for (const w of action.weighted_clusters?.clusters ?? []) add(w.name, service);
      }
    }
  }
  return out;
}
