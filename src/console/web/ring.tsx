/**
 * A ring (or maglev table) as a circle of arcs, one colour per replica, 0 at the top and
 * clockwise; the legend gives each replica's exact share. `marker`: a point of the circle to
 * flag (Explain's request hash, or its maglev slot).
 */
import type { RingView } from '../api-types';
import { percent } from './api';
import { replicaColor } from './colors';

const SIZE = 240;
const R = 96;
const WIDTH = 30;

function point(fraction: number, radius = R): [number, number] {
  const angle = fraction * 2 * Math.PI - Math.PI / 2;
  return [SIZE / 2 + radius * Math.cos(angle), SIZE / 2 + radius * Math.sin(angle)];
}

function arcPath(start: number, end: number): string {
  if (end - start >= 0.999999) {
    const [x, y] = point(0);
    const [x2, y2] = point(0.5);
    return `M ${x} ${y} A ${R} ${R} 0 1 1 ${x2} ${y2} A ${R} ${R} 0 1 1 ${x} ${y}`;
  }
  const [x1, y1] = point(start);
  const [x2, y2] = point(end);
  return `M ${x1} ${y1} A ${R} ${R} 0 ${end - start > 0.5 ? 1 : 0} 1 ${x2} ${y2}`;
}

export function RingCircle({ ring, marker }: { ring: RingView; marker?: number }) {
  const [mx, my] = marker === undefined ? [0, 0] : point(marker, R + WIDTH / 2 + 4);
  const [ix, iy] = marker === undefined ? [0, 0] : point(marker, R - WIDTH / 2 - 10);
  return (
    <svg class="ring" viewBox={`0 0 ${SIZE} ${SIZE}`} width={SIZE} height={SIZE} role="img" aria-label={`${ring.balancer} of ${ring.cluster}`}>
      {ring.arcs.map(([start, end, owner]) => (
        <path d={arcPath(start, end)} stroke={replicaColor(owner)} stroke-width={WIDTH} fill="none" />
      ))}
      {marker !== undefined && <line class="marker" x1={ix} y1={iy} x2={mx} y2={my} />}
      <text x={SIZE / 2} y={SIZE / 2 - 4} class="ring-label">{ring.balancer === 'maglev' ? 'maglev' : 'ring hash'}</text>
      <text x={SIZE / 2} y={SIZE / 2 + 14} class="ring-sub">{ring.size.toLocaleString('en-US')} {ring.balancer === 'maglev' ? 'slots' : 'entries'}</text>
    </svg>
  );
}

export function RingLegend({ ring, highlight }: { ring: RingView; highlight?: string }) {
  return (
    <table class="legend">
      <thead>
        <tr><th /><th>replica</th><th>backend</th><th class="num">{ring.balancer === 'maglev' ? 'slots' : 'entries'}</th><th class="num">share</th></tr>
      </thead>
      <tbody>
        {ring.replicas.map((r, i) => (
          <tr class={highlight === r.address ? 'picked' : ''} data-replica={r.address} data-share={String(r.share)}>
            <td><span class="swatch" style={{ background: replicaColor(i) }} /></td>
            <td class="mono">{r.address}</td>
            <td>{r.backends.join(', ') || '–'}</td>
            <td class="num">{r.entries.toLocaleString('en-US')}</td>
            <td class="num share" title={String(r.share)}>{percent(r.share, 3)}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

export function RingCard({ ring, marker, highlight }: { ring: RingView; marker?: number; highlight?: string }) {
  return (
    <section class="card ring-card" data-cluster={ring.cluster}>
      <h3>
        {ring.cluster} <span class="muted">· {ring.services.join(', ')}</span>
      </h3>
      <div class="ring-row">
        <RingCircle ring={ring} {...(marker !== undefined ? { marker } : {})} />
        <RingLegend ring={ring} {...(highlight ? { highlight } : {})} />
      </div>
      {ring.binned && <p class="muted small">Drawn per 1/720 of the circle (too many runs to draw one by one); each replica's arcs still add up to its exact share.</p>}
    </section>
  );
}
