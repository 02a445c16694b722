/**
 * `tether verify`'s comparison (src/cli/proxy-diff.ts) on Envoy-shaped dumps: endpoint
 * assignments as Envoy rebuilds them (defaults written out, coarse health) match what was sent;
 * a real change, a missing or extra resource and a warming one are each reported with a diff.
 */
import { describe, expect, it } from 'vitest';
import { readConfigDump } from '../../src/envoy/config-dump';
import { diffProxy, formatProxyDifferences, type ServedResourceJson } from '../../src/cli/proxy-diff';

const addr = (port: number) => ({ address: { socket_address: { address: '127.0.0.1', port_value: port } } });

const SERVED: ServedResourceJson[] = [
  { type: 'CDS', name: 'app', json: { name: 'app', type: 'EDS', eds_cluster_config: { eds_config: { ads: {}, resource_api_version: 'V3' }, service_name: 'app' }, connect_timeout: '1s' } },
  {
    type: 'EDS',
    name: 'app',
    json: {
      cluster_name: 'app',
      endpoints: [{ lb_endpoints: [{ endpoint: addr(8081) }, { endpoint: addr(8082), health_status: 'DRAINING', load_balancing_weight: 3 }], load_balancing_weight: 1 }],
    },
  },
];

/** A /config_dump as Envoy 1.40 writes one for SERVED (fields and defaults as it prints them). */
function dump(options: { clusterTimeout?: string; warming?: boolean; extraCluster?: boolean; noEndpoints?: boolean } = {}) {
  const cluster: Record<string, unknown> = { '@type': 'type.googleapis.com/envoy.config.cluster.v3.Cluster', ...SERVED[0]!.json, connect_timeout: options.clusterTimeout ?? '1s' };
  const clusters = [{ version_info: 'v', cluster, last_updated: '2026-12-05T22:11:12.817Z' }];
  if (options.extraCluster) clusters.push({ version_info: 'v', cluster: { ...cluster, name: 'old' }, last_updated: '2026-12-05T22:11:12.817Z' });
  return {
    configs: [
      { '@type': 'type.googleapis.com/envoy.admin.v3.BootstrapConfigDump', bootstrap: { node: { id: 'n1', cluster: 'c', user_agent_name: 'envoy', metadata: { TETHER_NODE_KIND: 'envoy' } } } },
      {
        '@type': 'type.googleapis.com/envoy.admin.v3.ClustersConfigDump',
        version_info: 'v',
        static_clusters: [{ cluster: { '@type': 'type.googleapis.com/envoy.config.cluster.v3.Cluster', name: 'tether-xds' } }],
        [options.warming ? 'dynamic_warming_clusters' : 'dynamic_active_clusters']: clusters,
      },
      {
        '@type': 'type.googleapis.com/envoy.admin.v3.EndpointsConfigDump',
        dynamic_endpoint_configs: options.noEndpoints
          ? []
          : [
              {
                endpoint_config: {
                  '@type': 'type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment',
                  cluster_name: 'app',
                  endpoints: [
                    {
                      locality: {},
                      lb_endpoints: [
                        { endpoint: { ...addr(8081), health_check_config: {} }, health_status: 'HEALTHY', load_balancing_weight: 1 },
                        { endpoint: { ...addr(8082), health_check_config: {} }, health_status: 'UNHEALTHY', load_balancing_weight: 3 },
                      ],
                      load_balancing_weight: 1,
                    },
                  ],
                  policy: { overprovisioning_factor: 140 },
                },
              },
            ],
      },
      { '@type': 'type.googleapis.com/envoy.admin.v3.ScopedRoutesConfigDump' },
    ],
  };
}

describe('proxy diff', () => {
  it('reads the node and the dynamic resources only', () => {
    const d = readConfigDump(dump());
    expect(d.node).toEqual({ id: 'n1', cluster: 'c', userAgentName: 'envoy', metadata: { TETHER_NODE_KIND: 'envoy' } });
    expect(d.resources.map((r) => `${r.type} ${r.name}`)).toEqual(['CDS app', 'EDS app']);
    expect(() => readConfigDump({ nope: 1 })).toThrow(/not an Envoy \/config_dump/);
  });

  it('an Envoy holding what was sent: no difference, endpoint defaults and coarse health included', () => {
    expect(diffProxy(SERVED, readConfigDump(dump()).resources)).toEqual([]);
  });

  it('reports a changed, a missing, an extra and a warming resource, each with a diff', () => {
    const changed = diffProxy(SERVED, readConfigDump(dump({ clusterTimeout: '2s' })).resources);
    expect(changed).toHaveLength(1);
    expect(changed[0]).toMatchObject({ type: 'CDS', name: 'app', kind: 'differs' });
    expect(changed[0]!.diff).toContain('-connect_timeout: 1s\n+connect_timeout: 2s');

    const missing = diffProxy(SERVED, readConfigDump(dump({ noEndpoints: true })).resources);
    expect(missing.map((d) => [d.type, d.name, d.kind])).toEqual([['EDS', 'app', 'missing']]);
    const extra = diffProxy(SERVED, readConfigDump(dump({ extraCluster: true })).resources);
    expect(extra.map((d) => [d.type, d.name, d.kind])).toEqual([['CDS', 'old', 'extra']]);
    const warming = diffProxy(SERVED, readConfigDump(dump({ warming: true })).resources);
    expect(warming).toEqual([expect.objectContaining({ type: 'CDS', name: 'app', kind: 'differs', warming: true, diff: '' })]);

    expect(formatProxyDifferences([...changed, ...missing, ...extra, ...warming]).split('\n').filter((l) => /^[~+-] [A-Z]{3} /.test(l))).toEqual([
      '~ CDS app: differs',
      '- EDS app: served by Tether, absent from Envoy',
      '+ CDS old: on Envoy, not served by Tether',
      '~ CDS app: warming on Envoy (received, not in use)',
    ]);
  });
});
