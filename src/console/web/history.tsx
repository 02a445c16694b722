/** The version history, and the Envoy resources that differ between any two versions. */
import { useEffect, useState } from 'preact/hooks';
import type { DiffView, HistoryView } from '../api-types';
import { ApiFailure, get } from './api';
import { useResource } from './hooks';

function DiffText({ text }: { text: string }) {
  return (
    <pre class="diff">
      {text.split('\n').map((line) => (
        <span class={line.startsWith('+') ? 'add' : line.startsWith('-') ? 'del' : line.startsWith('@@') ? 'hunk' : ''}>{line}{'\n'}</span>
      ))}
    </pre>
  );
}

export function HistoryPanel({ tick }: { tick: number }) {
  const history = useResource<HistoryView>('history', {}, tick);
  const versions = history.data?.versions ?? [];
  const [from, setFrom] = useState(0);
  const [to, setTo] = useState(0);
  const [diff, setDiff] = useState<{ data?: DiffView; error?: string }>({});
  // Default: the version before the current one → the current one.
  useEffect(() => {
    if (versions.length > 0 && (to === 0 || !versions.some((v) => v.version === to))) {
      setTo(versions[0]!.version);
      setFrom(versions[1]?.version ?? versions[0]!.version);
    }
  }, [history.data]);
  const compare = () =>
    get<DiffView>('diff', { from: String(from), to: String(to) }).then(
      (data) => setDiff({ data }),
      (err: unknown) => setDiff({ error: err instanceof ApiFailure ? err.message : String(err) }),
    );
  const pick = (set: (v: number) => void) => (e: Event) => set(Number((e.target as HTMLSelectElement).value));
  return (
    <div class="view" id="view-history">
      {history.error && <p class="error">{history.error}</p>}
      <section class="card">
        <h3>Versions <span class="muted">· current v{history.data?.version}</span></h3>
        <table>
          <thead><tr><th>version</th><th>when</th><th>source</th><th>what</th><th>by</th></tr></thead>
          <tbody>
            {versions.map((v) => (
              <tr data-version={v.version} class={v.version === history.data?.version ? 'current' : ''}>
                <td>v{v.version}{v.restores ? <span class="muted"> (= v{v.restores})</span> : null}</td>
                <td class="small">{v.createdAt.replace('T', ' ').slice(0, 19)}</td>
                <td>{v.source}</td>
                <td>{v.description}</td>
                <td class="mono small">{v.author ?? ''}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </section>
      <section class="card">
        <h3>Diff of the Envoy resources</h3>
        <p class="toolbar">
          from <select name="from" value={from} onChange={pick(setFrom)}>{versions.map((v) => <option value={v.version}>v{v.version}</option>)}</select>{' '}
          to <select name="to" value={to} onChange={pick(setTo)}>{versions.map((v) => <option value={v.version}>v{v.version}</option>)}</select>{' '}
          <button onClick={compare} id="diff-button">Compare</button>
        </p>
        {diff.error && <p class="error">{diff.error}</p>}
        {diff.data && (
          <div class="diff-result" data-from={diff.data.from} data-to={diff.data.to}>
            {diff.data.changes.length === 0 && <p class="muted">v{diff.data.from} and v{diff.data.to} serve the same resources.</p>}
            {diff.data.changes.map((c) => (
              <div class="change">
                <p><span class={`action ${c.action.toLowerCase()}`}>{c.action}</span> {c.nodeKind} {c.type} <span class="mono">{c.name}</span></p>
                {c.diff && <DiffText text={c.diff} />}
              </div>
            ))}
          </div>
        )}
      </section>
    </div>
  );
}
