/**
 * Tether's web console: one page, six views, read-only. Live: every `change` event from the
 * server bumps `tick`, and each view re-reads what it shows.
 */
import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import type { ConsoleOverview } from '../api-types';
import { followChanges, token } from './api';
import { ExplainPanel } from './explain-box';
import { HistoryPanel } from './history';
import { useResource } from './hooks';
import { NodesPanel } from './nodes';
import { RingsPanel } from './rings-view';
import { ServicesView } from './services';
import { WhatIfPanel } from './what-if-box';
import './style.css';

const VIEWS = ['services', 'rings', 'nodes', 'history', 'explain', 'what-if'] as const;
type View = (typeof VIEWS)[number];
const TITLES: Record<View, string> = { services: 'Services', rings: 'Rings', nodes: 'Nodes', history: 'History', explain: 'Explain', 'what-if': 'What-if' };

const viewFromHash = (): View => {
  const name = location.hash.slice(1) as View;
  return VIEWS.includes(name) ? name : 'services';
};

function Login({ message, onToken }: { message: string; onToken: () => void }) {
  const [value, setValue] = useState('');
  return (
    <form
      class="card login"
      id="login"
      onSubmit={(e) => {
        e.preventDefault();
        token.set(value.trim());
        onToken();
      }}
    >
      <h3>Admin token</h3>
      <p class="muted">The console takes the admin API's bearer token (<span class="mono">.tether/admin-token</span> by default). It stays in this tab only.</p>
      <p class="error small">{message}</p>
      <input type="password" name="token" autocomplete="off" value={value} onInput={(e) => setValue((e.target as HTMLInputElement).value)} />
      <button type="submit">Sign in</button>
    </form>
  );
}

function App() {
  const [view, setView] = useState<View>(viewFromHash());
  const [tick, setTick] = useState(0);
  const [live, setLive] = useState(false);
  const [session, setSession] = useState(0);
  const overview = useResource<ConsoleOverview>('overview', {}, tick + session * 1e6);

  useEffect(() => {
    const onHash = () => setView(viewFromHash());
    addEventListener('hashchange', onHash);
    return () => removeEventListener('hashchange', onHash);
  }, []);
  useEffect(() => {
    const stop = new AbortController();
    void followChanges(() => setTick((t) => t + 1), setLive, stop.signal);
    return () => stop.abort();
  }, [session]);

  const unauthorized = !overview.data && overview.error !== undefined;
  return (
    <>
      <header>
        <h1>Tether</h1>
        <nav>
          {VIEWS.map((v) => (
            <a href={`#${v}`} class={v === view ? 'active' : ''} id={`tab-${v}`}>{TITLES[v]}</a>
          ))}
        </nav>
        <span class="status">
          {overview.data && <span id="current-version">v{overview.data.version}</span>}
          <span class={`dot ${live ? 'live' : ''}`} title={live ? 'live: updates as the config and nodes change' : 'not connected'} />
        </span>
      </header>
      <main>
        {unauthorized && <Login message={overview.error!} onToken={() => setSession((s) => s + 1)} />}
        {overview.data && view === 'services' && <ServicesView overview={overview.data} />}
        {overview.data && view === 'rings' && <RingsPanel tick={tick} />}
        {overview.data && view === 'nodes' && <NodesPanel tick={tick} />}
        {overview.data && view === 'history' && <HistoryPanel tick={tick} />}
        {overview.data && view === 'explain' && <ExplainPanel overview={overview.data} tick={tick} />}
        {overview.data && view === 'what-if' && <WhatIfPanel overview={overview.data} />}
      </main>
    </>
  );
}

render(<App />, document.getElementById('app')!);
