import { describe, expect, it } from 'vitest';
import { referencesOf } from '../../src/cache/references';
import { pack } from '../../src/envoy/encode';
import { CLUSTER_TYPE, ENDPOINT_TYPE, LISTENER_TYPE, ROUTE_TYPE } from '../../src/envoy/resource-types';
import { apiListener, edsCluster, loadAssignment, routeConfig } from '../xds/fixtures/resources';

describe('referencesOf', () => {
  it('finds the route config of an api_listener and of an Envoy listener filter chain', () => {
    expect(referencesOf(LISTENER_TYPE, apiListener('svc', 'svc-routes'))).toEqual(['svc-routes']);
    const hcm = (name: string) =>
      pack('envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager', {
        stat_prefix: 'x',
        rds: { config_source: { ads: {} }, route_config_name: name },
      });
    const envoyListener = {
      name: 'http',
      address: { socket_address: { address: '0.0.0.0', port_value: 8080 } },
      filter_chains: [{ filters: [{ name: 'hcm', typed_config: hcm('r2') }] }, { filters: [{ name: 'hcm', typed_config: hcm('r1') }] }],
    };
    expect(referencesOf(LISTENER_TYPE, envoyListener)).toEqual(['r1', 'r2']);
    expect(referencesOf(LISTENER_TYPE, { name: 'none' })).toEqual([]);
  });

  it('finds every cluster a route config sends to or mirrors to', () => {
    const rc = routeConfig('r', { b: 1, a: 2 });
    rc.virtual_hosts![0]!.routes!.push({ match: { prefix: '/x' }, route: { cluster: 'a', request_mirror_policies: [{ cluster: 'shadow' }] } });
    expect(referencesOf(ROUTE_TYPE, rc)).toEqual(['a', 'b', 'shadow']);
  });

  it("names an EDS cluster's service name, and nothing for other discovery types", () => {
    expect(referencesOf(CLUSTER_TYPE, edsCluster('c'))).toEqual(['c']);
    expect(referencesOf(CLUSTER_TYPE, { ...edsCluster('c'), eds_cluster_config: { service_name: 'svc' } })).toEqual(['svc']);
    expect(referencesOf(CLUSTER_TYPE, { name: 'dns', type: 'STRICT_DNS' })).toEqual([]);
    expect(referencesOf(ENDPOINT_TYPE, loadAssignment('c', [1]))).toEqual([]);
  });
});
