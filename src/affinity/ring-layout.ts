/**
 * A consistent-hash balancer drawn as a circle: which replica owns which part of the hash
 * space (ring hash: entry i owns (hash[i-1], hash[i]], entry 0 also the wrap past the last
 * entry) or of the table (maglev: slot k, in slot order). Runs of one owner are merged; when
 * more runs remain than a browser should draw, the circle is cut into bins and each bin holds
 * one run per replica present in it, of that replica's exact length inside the bin, so the
 * arcs of a replica still add up to its exact share.
 */
import type { Picker } from './picker';

/** [start, end, host index], fractions of the circle. */
export type Arc = [number, number, number];

/** More exact runs than this are binned. */
export const MAX_EXACT_ARCS = 3000;
export const BINS = 720;
/**
 * Binned arcs are at most one per replica per bin: with many replicas the circle gets fewer
 * bins, so that a 2,000-replica ring is not 1.4M arcs (seconds to send and to draw).
 */
export const MAX_BINNED_ARCS = 30_000;

const SPACE = 2 ** 64;

/** The exact runs, in circle order. */
function exactRuns(layout: NonNullable<Picker['layout']>): Arc[] {
  const runs: Arc[] = [];
  const push = (start: number, end: number, owner: number) => {
    if (end <= start) return;
    const last = runs[runs.length - 1];
    if (last && last[2] === owner && last[1] === start) last[1] = end;
    else runs.push([start, end, owner]);
  };
  if (layout.kind === 'ring_hash') {
    const { hashes, owners } = layout.ring;
    const n = hashes.length;
    if (n === 0) return runs;
    push(0, Number(hashes[0]!) / SPACE, owners[0]!);
    for (let i = 1; i < n; i++) push(Number(hashes[i - 1]!) / SPACE, Number(hashes[i]!) / SPACE, owners[i]!);
    push(Number(hashes[n - 1]!) / SPACE, 1, owners[0]!);
  } else {
    const { slots, tableSize } = layout.table;
    for (let k = 0; k < slots.length; k++) push(k / tableSize, (k + 1) / tableSize, slots[k]!);
  }
  return runs;
}

/** Per bin, each replica's total length inside it, as consecutive runs (replica order). */
function binned(runs: readonly Arc[], hosts: number, bins: number): Arc[] {
  const lengths = new Float64Array(bins * hosts);
  for (const [start, end, owner] of runs) {
    // Bin by index, not by position: (bin + 1) / bins may round to `start` itself.
    const last = Math.min(bins - 1, Math.floor(end * bins));
    let s = start;
    for (let bin = Math.min(bins - 1, Math.floor(start * bins)); bin <= last && s < end; bin++) {
      const binEnd = bin === last ? end : Math.min(end, (bin + 1) / bins);
      if (binEnd > s) lengths[bin * hosts + owner] += binEnd - s;
      s = Math.max(s, binEnd);
    }
  }
  const out: Arc[] = [];
  for (let bin = 0; bin < bins; bin++) {
    let at = bin / bins;
    for (let h = 0; h < hosts; h++) {
      const length = lengths[bin * hosts + h]!;
      if (length <= 0) continue;
      const last = out[out.length - 1];
      if (last && last[2] === h && Math.abs(last[1] - at) < 1e-15) last[1] = at + length;
      else out.push([at, at + length, h]);
      at += length;
    }
  }
  return out;
}

/** `bins`: how many bins the circle was cut into (0: exact runs). */
export function ringArcs(picker: Picker, maxArcs = MAX_EXACT_ARCS, bins = BINS): { arcs: Arc[]; binned: boolean; bins: number } {
  if (!picker.layout) return { arcs: [], binned: false, bins: 0 };
  const runs = exactRuns(picker.layout);
  if (runs.length <= maxArcs) return { arcs: runs, binned: false, bins: 0 };
  const used = Math.max(1, Math.min(bins, Math.floor(MAX_BINNED_ARCS / Math.max(1, picker.hosts.length))));
  return { arcs: binned(runs, picker.hosts.length, used), binned: true, bins: used };
}

/** Arcs as one flat array (start, end, owner, ...): a worker posts it as one copy instead of cloning an array per arc. */
export function flatArcs(arcs: readonly Arc[]): Float64Array {
  const out = new Float64Array(arcs.length * 3);
  arcs.forEach(([start, end, owner], i) => out.set([start, end, owner], i * 3));
  return out;
}

export function arcsFromFlat(flat: Float64Array): Arc[] {
  const out: Arc[] = [];
  for (let i = 0; i + 2 < flat.length; i += 3) out.push([flat[i]!, flat[i + 1]!, flat[i + 2]!]);
  return out;
}

/** Ring entries or table slots per host index. */
export function entriesPerHost(picker: Picker): number[] {
  const layout = picker.layout;
  if (!layout) return picker.hosts.map(() => 0);
  if (layout.kind === 'maglev') return [...layout.table.entriesPerHost];
  const counts = picker.hosts.map(() => 0);
  for (const owner of layout.ring.owners) counts[owner]!++;
  return counts;
}
