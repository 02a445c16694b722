/** Every consistent-hash cluster's ring or maglev table, for one kind of node. */
import { useState } from 'preact/hooks';
import type { RingsView } from '../api-types';
import { useResource } from './hooks';
import { RingCard } from './ring';

export function RingsPanel({ tick }: { tick: number }) {
  const [kind, setKind] = useState('envoy');
  const rings = useResource<RingsView>('rings', { kind }, tick);
  return (
    <div class="view" id="view-rings">
      <p class="toolbar">
        as built by{' '}
        <select value={kind} onChange={(e) => setKind((e.target as HTMLSelectElement).value)} name="kind">
          <option value="envoy">Envoy nodes</option>
          <option value="grpc">gRPC nodes</option>
        </select>{' '}
        <span class="muted">shares are exact: each replica's part of the 64-bit hash space (ring) or of the table's slots (maglev)</span>
      </p>
      {rings.error && <p class="error">{rings.error}</p>}
      {rings.data && rings.data.rings.length === 0 && <p class="muted">No consistent-hash cluster is served to {kind} nodes.</p>}
      <div class="grid">{rings.data?.rings.map((r) => <RingCard ring={r} />)}</div>
      {rings.data && rings.data.more > 0 && <p class="muted">…and {rings.data.more} more consistent-hash clusters (the first {rings.data.rings.length} are drawn).</p>}
    </div>
  );
}
