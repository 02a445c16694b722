/**
 * The pure computations Tether runs off the event loop, as plain data in and out (structured
 * clone carries Maps, bigints and typed arrays): exact session shares of large rings and
 * tables (src/metrics/session-share.ts) and what-if sampling (src/admin/what-if.ts).
 */
import { createPicker, initHashing, type AffinityEndpoint } from '../affinity';
import { runSampleJob, type SampleJob, type SampleResult } from '../control/explain/what-if-sampling';
import type { BalancerSpec } from '../model/types';

export interface ShareInput {
  endpoints: AffinityEndpoint[];
  balancer: BalancerSpec;
}

/** Per input, its exact Envoy shares, or why they could not be computed. */
export type ShareOutput = { shares: Map<string, number> } | { error: string };

export type ComputeJob = { kind: 'shares'; clusters: ShareInput[] } | { kind: 'sample'; job: SampleJob };
export type ComputeResult = ShareOutput[] | SampleResult;

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
  }
}
