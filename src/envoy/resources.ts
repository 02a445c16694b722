import type { Listener, RouteConfiguration, Cluster, ClusterLoadAssignment, Secret } from './messages';

/** Everything one kind of node is served, as typed Envoy messages. */
export interface EnvoyResources {
  listeners: Listener[];
  routes: RouteConfiguration[];
  clusters: Cluster[];
  endpoints: ClusterLoadAssignment[];
  /**
   * SDS: the certificates of TLS listeners (Envoy nodes). Optional so that code which only
   * shows or compares resources never meets key material: diffs and displays leave it out.
   */
  secrets?: Secret[];
}
