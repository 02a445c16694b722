/**
 * A ring (or maglev table) as two circles, 0 at the top and clockwise, one colour per replica:
 * outside, where each replica sits (its runs of the hash space, or of the table's slots);
 * inside, one arc per replica as long as its exact share, the number in the legend.
 * `marker`: a point of the outer circle to flag (Explain's request hash, or its maglev slot).
 */
import type { RingView } from '../api-types';
import { percent } from './api';
import { replicaColor } from './colors';

const SIZE = 240;
const R = 102;
const WIDTH = 20;
const INNER_R = 74;
const INNER_WIDTH = 22;

function point(fraction: number, radius = R): [number, number] {
  const angle = fraction * 2 * Math.PI - Math.PI / 2;
  return [SIZE / 2 + radius * Math.cos(angle), SIZE / 2 + radius * Math.sin(angle)];
}

function arcPath(start: number, end: number, r = R): string {
  if (end - start >= 0.999999) {
    const [x, y] = point(0, r);
    const [x2, y2] = point(0.5, r);
    return `M ${x} ${y} A ${r} ${r} 0 1 1 ${x2} ${y2} A ${r} ${r} 0 1 1 ${x} ${y}`;
  }
  const [x1, y1] = point(start, r);
  const [x2, y2] = point(end, r);
  return `M ${x1} ${y1} A ${r} ${r} 0 ${end - start > 0.5 ? 1 : 0} 1 ${x2} ${y2}`;
}

/** One arc per replica, in replica order, each as long as its share. */
function shareArcs(ring: RingView): Array<[number, number, number]> {
  let at = 0;
  return ring.replicas.map((r, i) => {
    const arc: [number, number, number] = [at, at + r.share, i];
    at += r.share;
    return arc;
  });
}

export function RingCircle({ ring, marker }: { ring: RingView; marker?: number }) {
  const [mx, my] = marker === undefined ? [0, 0] : point(marker, R + WIDTH / 2 + 4);
  const [ix, iy] = marker === undefined ? [0, 0] : point(marker, R - WIDTH / 2 - 3);
  return (
    <svg class="ring" viewBox={`0 0 ${SIZE} ${SIZE}`} width={SIZE} height={SIZE} role="img" aria-label={`${ring.balancer} of ${ring.cluster}`}>
      <g class="layout">
        {ring.arcs.map(([start, end, owner]) => (
          <path d={arcPath(start, end)} stroke={replicaColor(owner)} stroke-width={WIDTH} fill="none" />
        ))}
      </g>
      <g class="shares">
        {shareArcs(ring).map(([start, end, owner]) => (
          <path d={arcPath(start, end, INNER_R)} stroke={replicaColor(owner)} stroke-width={INNER_WIDTH} fill="none" />
        ))}
      </g>
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
      {ring.binned && <p class="muted small">Drawn per 1/{ring.bins ?? 720} of the circle (too many runs to draw one by one); each replica's arcs still add up to its exact share.</p>}
    </section>
  );
}
