/** Status lists every type a stream serves, in the order people read them (admin/status.ts). */
import { describe, expect, it } from 'vitest';
import { statusColumns, toNodeInfo } from '../../src/admin/status';
import { CLUSTER_TYPE, ENDPOINT_TYPE, LISTENER_TYPE, ROUTE_TYPE, SECRET_TYPE, VIRTUAL_HOST_TYPE } from '../../src/envoy/resource-types';
import type { NodeStatus } from '../../src/xds/node-status';

const acked = (v: string) => ({ sentVersion: v, ackedVersion: v });

function node(types: NodeStatus['types']): NodeStatus {
  return { streamId: 's1', nodeId: 'n1', cluster: 'c', kind: 'envoy', userAgent: 'envoy', connectedAt: new Date(0), types };
}

describe('node status types', () => {
  it('lists LDS, RDS, VHDS, CDS, EDS, SDS as reported, each with its own versions', () => {
    const info = toNodeInfo(
      node({
        [SECRET_TYPE]: acked('s'),
        [ENDPOINT_TYPE]: acked('e'),
        [CLUSTER_TYPE]: acked('c'),
        [VIRTUAL_HOST_TYPE]: acked('v'),
        [ROUTE_TYPE]: acked('r'),
        [LISTENER_TYPE]: acked('l'),
      }),
    );
    expect(info.types!.map((t) => `${t.type}=${t.acked_version}`)).toEqual(['LDS=l', 'RDS=r', 'VHDS=v', 'CDS=c', 'EDS=e', 'SDS=s']);
  });

  it('shows the LDS, RDS, CDS, EDS columns always, VHDS and SDS only when a node reports them', () => {
    const plain = toNodeInfo(node({ [LISTENER_TYPE]: acked('l') }));
    expect(statusColumns([])).toEqual(['LDS', 'RDS', 'CDS', 'EDS']);
    expect(statusColumns([plain])).toEqual(['LDS', 'RDS', 'CDS', 'EDS']);
    const vhds = toNodeInfo(node({ [VIRTUAL_HOST_TYPE]: acked('v') }));
    const tls = toNodeInfo(node({ [SECRET_TYPE]: acked('s') }));
    expect(statusColumns([plain, tls, vhds])).toEqual(['LDS', 'RDS', 'VHDS', 'CDS', 'EDS', 'SDS']);
  });
});
