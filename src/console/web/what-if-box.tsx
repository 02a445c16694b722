/**
 * What-if: add, remove or drain an endpoint, or change a split → the share of sessions that
 * would move and each replica's share before and after, from the admin API's WhatIf (as
 * `tether what-if` prints it). Nothing is changed.
 */
import { useState } from 'preact/hooks';
import type { WhatIfResponse__Output } from '../../generated/tether/tether/admin/v1/WhatIfResponse';
import type { ConsoleOverview } from '../api-types';
import { ApiFailure, percent, post } from './api';

type Change = 'add_endpoint' | 'remove_endpoint' | 'drain_endpoint' | 'set_split';

/** `v1=90 v2=10` → { v1: 90, v2: 10 }; undefined when a weight is not a whole number. */
function weightsOf(text: string): Record<string, number> | undefined {
  const out: Record<string, number> = {};
  for (const part of text.split(/[\s,]+/).filter(Boolean)) {
    const m = /^([^=]+)=(\d+)$/.exec(part);
    if (!m) return undefined;
    out[m[1]!] = Number(m[2]);
  }
  return out;
}

const signed = (d: number): string => `${d > 0 ? '+' : d < 0 ? '−' : '±'}${(Math.abs(d) * 100).toFixed(1)} pp`;

export function WhatIfPanel({ overview }: { overview: ConsoleOverview }) {
  const [change, setChange] = useState<Change>('add_endpoint');
  const [backend, setBackend] = useState(overview.backends[0]?.name ?? '');
  const [address, setAddress] = useState('');
  const [weight, setWeight] = useState('');
  const [service, setService] = useState(overview.services[0]?.name ?? '');
  const [route, setRoute] = useState('');
  const [split, setSplit] = useState('');
  const [kind, setKind] = useState('');
  const [result, setResult] = useState<{ data?: WhatIfResponse__Output; error?: string }>({});
  const isSplit = change === 'set_split';

  const run = (e: Event) => {
    e.preventDefault();
    const weights = weightsOf(split);
    if (isSplit && !weights) return setResult({ error: 'weights: write them as backend=weight pairs, e.g. shop-v1=90 shop-v2=10' });
    const body = isSplit
      ? { change, kind, service, route, weights }
      : { change, kind, backend, address, ...(change === 'add_endpoint' && weight ? { weight: Number(weight) } : {}) };
    post<WhatIfResponse__Output>('what-if', body).then(
      (data) => setResult({ data }),
      (err: unknown) => setResult({ error: err instanceof ApiFailure ? err.message : String(err) }),
    );
  };
  const input = (set: (v: string) => void) => (e: Event) => set((e.target as HTMLInputElement).value);
  const r = result.data;
  return (
    <div class="view" id="view-what-if">
      <form class="card form" onSubmit={run} id="what-if-form">
        <label>change <select name="change" value={change} onChange={(e) => setChange((e.target as HTMLSelectElement).value as Change)}>
          <option value="add_endpoint">add an endpoint</option>
          <option value="remove_endpoint">remove an endpoint</option>
          <option value="drain_endpoint">drain an endpoint</option>
          <option value="set_split">change a split</option>
        </select></label>
        {!isSplit && <label>backend <select name="backend" value={backend} onChange={input(setBackend)}>{overview.backends.map((b) => <option>{b.name}</option>)}</select></label>}
        {!isSplit && <label>address <input name="address" placeholder="10.0.0.9:8080" value={address} onInput={input(setAddress)} /></label>}
        {change === 'add_endpoint' && <label>weight <input name="weight" placeholder="1" value={weight} onInput={input(setWeight)} /></label>}
        {isSplit && <label>service <select name="service" value={service} onChange={input(setService)}>{overview.services.map((s) => <option>{s.name}</option>)}</select></label>}
        {isSplit && <label>route <input name="route" placeholder="(the only one)" value={route} onInput={input(setRoute)} /></label>}
        {isSplit && <label>weights <input name="weights" placeholder="shop-v1=90 shop-v2=10" value={split} onInput={input(setSplit)} /></label>}
        <label>node kind <select name="kind" value={kind} onChange={input(setKind)}><option value="">auto</option><option value="envoy">envoy</option><option value="grpc">grpc</option></select></label>
        <button type="submit">What if?</button>
      </form>
      {result.error && <p class="error">{result.error}</p>}
      {r && !r.changed && <p class="muted">No change: the config would stay as version {String(r.version)}.</p>}
      {r && r.changed && r.routes.length === 0 && <p class="muted">No sticky route changes its session placement.</p>}
      {r?.routes.map((x) => (
        <section class="card impact" data-route={`${x.service}/${x.route}`} data-kind={x.node_kind} data-moved={String(x.moved)}>
          <h3>{x.service}/{x.route} <span class="muted">· {x.node_kind} nodes · {x.key} · {r.samples.toLocaleString('en-US')} sessions</span></h3>
          <p class="moved">sessions moving: <b>{percent(x.moved)}</b> <span class="muted">(ideal {percent(x.ideal)})</span></p>
          <table>
            <thead><tr><th>replica</th><th>backend</th><th class="num">before</th><th class="num">after</th><th class="num">change</th><th /></tr></thead>
            <tbody>
              {x.replicas.map((p) => (
                <tr data-replica={p.address}>
                  <td class="mono">{p.address}</td>
                  <td>{p.backends.join(', ')}</td>
                  <td class="num">{percent(p.before)}</td>
                  <td class="num">{percent(p.after)}</td>
                  <td class="num">{signed(Number(p.after) - Number(p.before))}</td>
                  <td><div class="delta"><span class="before" style={{ width: `${Number(p.before) * 100}%` }} /><span class="after" style={{ width: `${Number(p.after) * 100}%` }} /></div></td>
                </tr>
              ))}
            </tbody>
          </table>
          {x.notes.map((n) => <p class="muted small">note: {n}</p>)}
        </section>
      ))}
    </div>
  );
}
