/** Connected nodes and, per xDS type, whether they hold what was sent (like istioctl proxy-status). */
import type { NodesView } from '../api-types';
import { useResource } from './hooks';


export function NodesPanel({ tick }: { tick: number }) {
  const nodes = useResource<NodesView>('nodes', {}, tick);
  const data = nodes.data;
  // The server's columns (admin/status.ts statusColumns): LDS, RDS, CDS, EDS, VHDS when reported.
  const types = data?.types ?? [];
  return (
    <div class="view" id="view-nodes">
      {nodes.error && <p class="error">{nodes.error}</p>}
      {data && (
        <section class="card">
          <h3>{data.nodes.length} connected node{data.nodes.length === 1 ? '' : 's'} <span class="muted">· current version {data.version}</span></h3>
          <table>
            <thead>
              <tr><th>node</th><th>cluster</th><th>kind</th><th>applied</th>{types.map((t) => <th>{t}</th>)}<th>connected</th></tr>
            </thead>
            <tbody>
              {data.nodes.map((n) => (
                <tr data-node={n.nodeId}>
                  <td class="mono">{n.nodeId}</td>
                  <td>{n.cluster}</td>
                  <td>{n.kind}</td>
                  <td class={n.appliedVersion === data.version ? 'ok' : 'behind'}>{n.appliedVersion ? `v${n.appliedVersion}` : '–'}{n.appliedVersion !== data.version ? ' (behind)' : ''}</td>
                  {types.map((type) => {
                    const t = n.types.find((x) => x.type === type);
                    if (!t) return <td class="muted">–</td>;
                    return (
                      <td class={`state ${t.state.replace(' ', '-').toLowerCase()}`} data-type={type} title={t.error ?? `sent ${t.sent || '–'}, acked ${t.acked || '–'}`}>
                        {t.state}
                      </td>
                    );
                  })}
                  <td class="small">{n.connectedAt.replace('T', ' ').slice(0, 19)}</td>
                </tr>
              ))}
            </tbody>
          </table>
          {data.nodes.some((n) => n.types.some((t) => t.error)) && (
            <div class="nacks">
              {data.nodes.flatMap((n) => n.types.filter((t) => t.error).map((t) => <p class="error small"><b>{n.nodeId} {t.type}</b>: {t.error}</p>))}
            </div>
          )}
          {data.nodes.length === 0 && <p class="muted">No Envoy or gRPC client is connected to the xDS port.</p>}
        </section>
      )}
    </div>
  );
}
