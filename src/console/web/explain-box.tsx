/**
 * Explain: a request's header / cookie / client IP → the route it matches, the hash of its
 * session key, the ring entry (or maglev slot) and the replica, drawn on the cluster's ring.
 * The answer is the admin API's Explain, as `tether explain` prints it.
 */
import { useState } from 'preact/hooks';
import type { ExplainResponse__Output } from '../../generated/tether/tether/admin/v1/ExplainResponse';
import type { ConsoleOverview, RingsView } from '../api-types';
import { ApiFailure, percent, post } from './api';
import { useResource } from './hooks';
import { RingCard } from './ring';

/** `a=1; b=2` or one per line → { a: '1', b: '2' }. */
export function pairs(text: string, separator: RegExp): Record<string, string> {
  const out: Record<string, string> = {};
  for (const part of text.split(separator)) {
    const eq = part.search(/[=:]/);
    if (eq > 0) out[part.slice(0, eq).trim()] = part.slice(eq + 1).trim();
  }
  return out;
}

const SPACE = 2 ** 64;

export function ExplainPanel({ overview, tick }: { overview: ConsoleOverview; tick: number }) {
  const [service, setService] = useState(overview.services[0]?.name ?? '');
  const [headers, setHeaders] = useState('');
  const [cookies, setCookies] = useState('');
  const [clientIp, setClientIp] = useState('');
  const [path, setPath] = useState('');
  const [kind, setKind] = useState('');
  const [result, setResult] = useState<{ data?: ExplainResponse__Output; error?: string }>({});
  const rings = useResource<RingsView>('rings', { kind: result.data?.node_kind || 'envoy' }, tick);

  const run = (e: Event) => {
    e.preventDefault();
    post<ExplainResponse__Output>('explain', {
      service,
      kind,
      headers: pairs(headers, /\n/),
      cookies: pairs(cookies, /[;\n]/),
      clientIp,
      path,
    }).then(
      (data) => setResult({ data }),
      (err: unknown) => setResult({ error: err instanceof ApiFailure ? err.message : String(err) }),
    );
  };
  const r = result.data;
  const pick = r?.pick ?? null;
  const ring = pick ? rings.data?.rings.find((x) => x.cluster === pick.cluster) : undefined;
  const marker = pick && ring ? (pick.balancer === 'maglev' ? (pick.index + 0.5) / pick.size : Number(BigInt(r!.request_hash)) / SPACE) : undefined;
  const input = (set: (v: string) => void) => (e: Event) => set((e.target as HTMLInputElement).value);
  return (
    <div class="view" id="view-explain">
      <form class="card form" onSubmit={run} id="explain-form">
        <label>service <select name="service" value={service} onChange={input(setService)}>{overview.services.map((s) => <option>{s.name}</option>)}</select></label>
        <label>headers <textarea name="headers" rows={2} placeholder="x-user=alice" value={headers} onInput={input(setHeaders)} /></label>
        <label>cookies <input name="cookies" placeholder="tether-session=abc; other=1" value={cookies} onInput={input(setCookies)} /></label>
        <label>client IP <input name="clientIp" placeholder="203.0.113.7" value={clientIp} onInput={input(setClientIp)} /></label>
        <label>path <input name="path" placeholder="/" value={path} onInput={input(setPath)} /></label>
        <label>node kind <select name="kind" value={kind} onChange={input(setKind)}><option value="">auto</option><option value="envoy">envoy</option><option value="grpc">grpc</option></select></label>
        <button type="submit">Explain</button>
      </form>
      {result.error && <p class="error">{result.error}</p>}
      {r && (
        <section class="card explain-result" data-replica={pick?.address ?? ''} data-hash={r.request_hash}>
          <h3>{pick ? <>→ <span class="mono">{pick.address}</span> <span class="muted">({pick.backends.join(', ')})</span></> : 'no single replica'}</h3>
          <ol class="path">
            <li>service <b>{r.service}</b>, {r.node_kind} nodes, config v{String(r.version)}</li>
            <li>route {r.route ? <b>{r.route}</b> : <i>none matches</i>}{r.routes.filter((x) => !x.matched).map((x) => <span class="muted"> · not {x.route}: {x.reason}</span>)}</li>
            {r.steps.map((s) => (
              <li class="step">key <span class="mono">{s.key}</span>: {s.outcome}{s.input ? <> <span class="mono">"{s.input}"</span></> : null}{s.hash ? <> → <span class="mono">{s.hash}</span></> : null}{s.note ? <span class="muted"> ({s.note})</span> : null}</li>
            ))}
            {r.request_hash && <li>request hash <span class="mono" id="explain-hash">{r.request_hash}</span></li>}
            {r.weighted_clusters.length > 0 && <li>split: {r.weighted_clusters.map((c) => `${c.cluster} ${percent(c.share)}`).join(', ')}</li>}
            {pick && <li>cluster <b>{pick.cluster}</b>: {pick.balancer === 'maglev' ? 'maglev slot' : 'ring entry'} {pick.index}/{pick.size}{pick.entry_hash ? <span class="mono"> ({pick.entry_hash})</span> : null} → <b class="mono" id="explain-replica">{pick.address}</b></li>}
            {!pick && r.reason && <li class="reason">{r.reason}</li>}
            {r.set_cookie && <li>Envoy sets <span class="mono">Set-Cookie: {r.set_cookie}</span></li>}
          </ol>
          {r.notes.map((n) => <p class="muted small">note: {n}</p>)}
        </section>
      )}
      {ring && <RingCard ring={ring} {...(marker !== undefined ? { marker } : {})} highlight={pick!.address} />}
    </div>
  );
}
