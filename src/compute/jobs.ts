/**
 * The pure computations Tether runs off the event loop, as plain data in and out (structured
 * clone carries Maps, bigints and typed arrays): exact session shares of large rings and
 * tables (src/metrics/session-share.ts), what-if sampling and resource diffs (src/admin/what-if.ts),
 * the text diffs of a mutation's modified resources (src/control/config-manager.ts).
 */
import { createPicker, initHashing, pickerData, pickerFrom, type AffinityEndpoint, type Flavour, type PickerData } from '../affinity';
import { runSampleJob, type SampleJob, type SampleResult } from '../explain';
import { buildSnapshot, EncodeCache } from '../cache/snapshot';
import { diffResources, renderDiff, type PendingDiff, type ResourceChange } from '../diff/resource-diff';
import type { BalancerSpec } from '../model/types';
import type { EnvoyResources } from '../envoy/resources';
import type { NodeKind } from '../model/node-targets';
import { entriesPerHost, flatArcs, ringArcs } from '../affinity/ring-layout';
import type { DocumentPart } from './document-parts';

/**
 * Above this cost (src/affinity pickerCost: ring entries, ~2–3.5 µs each) a ring or table is
 * built here rather than on the event loop; 8,192 entries (a stable ring of 8 equal replicas)
 * stay well inside a 20 ms slice.
 */
export const WORKER_MIN_COST = 8192;

export interface ShareInput {
  endpoints: AffinityEndpoint[];
  balancer: BalancerSpec;
}

/** Per input, its exact Envoy shares, or why they could not be computed. */
export type ShareOutput = { shares: Map<string, number> } | { error: string };

/** What a change does to the resources one kind of node is served (encoding and text diffs). */
export interface DiffInput {
  nodeKind: NodeKind;
  before: EnvoyResources;
  after: EnvoyResources;
}

/** A balancer to build as a client of `flavour` does (explain's pickers). */
export interface PickerInput extends ShareInput {
  flavour: Flavour;
}

/** A ring or table as the console draws it (affinity/ring-layout.ts), with the balancer for explain's cache. */
export interface RingLayoutResult {
  picker: PickerData;
  entries: number[];
  /** affinity/ring-layout.ts flatArcs. */
  arcs: Float64Array;
  binned: boolean;
  bins: number;
}

/** ApplyConfigRequest decoded off the event loop (admin/config-wire.ts): the request without its Struct, the Struct as document parts. */
export type DecodedApply =
  | { malformed: string }
  | { request: Record<string, unknown>; parts?: DocumentPart[]; errors: { path: string; message: string }[] };

export type ComputeJob =
  | { kind: 'shares'; clusters: ShareInput[] }
  | { kind: 'sample'; job: SampleJob }
  | { kind: 'diff'; diff: DiffInput }
  | { kind: 'textDiffs'; pending: PendingDiff[] }
  | { kind: 'picker'; picker: PickerInput }
  | { kind: 'ringLayout'; picker: PickerInput };
/** The admin API's wire work: run by the worker's entry (worker-entry.ts), which alone links admin/. */
export type AdminWireJob = { kind: 'configResponse'; json: string; version: number; createdAt: string } | { kind: 'decodeApply'; bytes: Uint8Array };
/** Everything the worker thread runs. */
export type WorkerJob = ComputeJob | AdminWireJob;
export type ComputeResult = ShareOutput[] | SampleResult | ResourceChange[] | PickerData | string[] | Uint8Array | DecodedApply | RingLayoutResult | undefined;

export function resourceChanges(input: DiffInput): ResourceChange[] {
  const encodings = new EncodeCache();
  const snapshotOf = (resources: EnvoyResources) => new Map([[input.nodeKind, buildSnapshot(resources, input.nodeKind, '', encodings)]]);
  return diffResources(snapshotOf(input.before), snapshotOf(input.after));
}

export function exactShares(input: ShareInput): ShareOutput {
  try {
    const picker = createPicker(input.endpoints, input.balancer, { flavour: 'envoy' });
    return picker ? { shares: picker.shares() } : { error: `balancer ${input.balancer.type} does not hash` };
  } catch (err) {
    return { error: (err as Error).message };
  }
}

export async function runJob(job: ComputeJob): Promise<ComputeResult> {
  await initHashing();
  switch (job.kind) {
    case 'shares':
      return job.clusters.map(exactShares);
    case 'sample':
      return runSampleJob(job.job);
    case 'textDiffs':
      return job.pending.map(renderDiff);
    case 'diff':
      return resourceChanges(job.diff);
    case 'ringLayout': {
      // The console's drawing of a ring: as costly to lay out as to build (2M entries).
      const data = pickerData(job.picker.endpoints, job.picker.balancer, { flavour: job.picker.flavour });
      if (!data) return undefined;
      const picker = pickerFrom(data);
      const shares = picker.shares();
      const { arcs, binned, bins } = ringArcs(picker);
      return { picker: { ...data, shares }, entries: entriesPerHost(picker), arcs: flatArcs(arcs), binned, bins };
    }
    case 'picker': {
      // With its exact shares: measuring a ring of millions of entries is as slow as building it.
      const data = pickerData(job.picker.endpoints, job.picker.balancer, { flavour: job.picker.flavour });
      return data && { ...data, shares: pickerFrom(data).shares() };
    }
  }
}
