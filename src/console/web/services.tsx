/** Services, their routes, splits and sticky-canary progress; backends and their endpoints. */
import type { ConsoleOverview, RouteView } from '../api-types';
import { percent } from './api';
import { replicaColor } from './colors';

function SplitBar({ route }: { route: RouteView }) {
  return (
    <div class="split" title={route.backends.map((b) => `${b.backend} ${percent(b.share)}`).join(', ')}>
      {route.backends.map((b, i) =>
        b.share > 0 ? (
          <span class="split-part" style={{ width: `${b.share * 100}%`, background: replicaColor(i) }}>
            {b.backend} {percent(b.share, 0)}
          </span>
        ) : null,
      )}
    </div>
  );
}

function Canary({ route }: { route: RouteView }) {
  const c = route.canary;
  if (!c) return null;
  return (
    <div class="canary" data-canary={c.backend}>
      <span>canary <b>{c.backend}</b>: weight {percent(c.weightShare)}</span>
      <div class="progress"><span style={{ width: `${c.weightShare * 100}%` }} /></div>
      {c.sessionShare !== undefined && <span class="session-share">sessions on its replicas ({c.sessionShareKind === 'grpc' ? 'gRPC' : 'Envoy'} ring): {percent(c.sessionShare, 2)}</span>}
    </div>
  );
}

export function ServicesView({ overview }: { overview: ConsoleOverview }) {
  return (
    <div class="view" id="view-services">
      {overview.services.map((s) => (
        <section class="card service" data-service={s.name}>
          <h3>{s.name} <span class="muted">· {s.domains.join(', ')}</span></h3>
          <p class="keys">
            {s.keys.length > 0 || s.sessionKey ? (
              <>sticky on {[...(s.sessionKey ? [s.sessionKey] : []), ...s.keys].join(' → ')}</>
            ) : (
              <span class="muted">not sticky (ordinary balancing)</span>
            )}
            {s.strong && <> · pinned by {s.strong}</>}
          </p>
          <table>
            <thead><tr><th>route</th><th>match</th><th>split</th><th>sticky split</th></tr></thead>
            <tbody>
              {s.routes.map((r) => (
                <tr data-route={r.name}>
                  <td class="mono">{r.name}</td>
                  <td>{r.match}</td>
                  <td>
                    <SplitBar route={r} />
                    {r.mirrors.map((m) => <div class="muted small">mirror {m.percent} % → {m.backend}</div>)}
                    <Canary route={r} />
                  </td>
                  <td>{r.stickySplit ?? <span class="muted">–</span>}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </section>
      ))}
      <section class="card">
        <h3>Backends</h3>
        <table>
          <thead><tr><th>backend</th><th>balancer</th><th>endpoints</th></tr></thead>
          <tbody>
            {overview.backends.map((b) => (
              <tr data-backend={b.name}>
                <td class="mono">{b.name}</td>
                <td>{b.balancer}</td>
                <td class="mono">
                  {b.endpoints.map((e) => (
                    <span class={`endpoint${e.drain ? ' drain' : ''}`}>
                      {e.address}{e.weight !== 1 ? ` ×${e.weight}` : ''}{e.drain ? ' (draining)' : ''}
                    </span>
                  ))}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </section>
    </div>
  );
}
