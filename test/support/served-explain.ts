/**
 * Explain over what a test Tether serves right now, in-process: the admin API's own source
 * (createExplainSource: the config manager's current config, translated and encoded as the
 * snapshot cache serves it) and src/explain, without a gRPC round trip per request,
 * so thousands of requests through a real Envoy can each be compared with Explain's answer.
 */
import { createExplainSource } from '../../src/admin/explain-source';
import { initHashing } from '../../src/affinity';
import { explainRequest, type ExplainOutcome, type ExplainQuery } from '../../src/explain';
import { silentLogger } from '../../src/log';
import type { Tether } from '../../src/server/tether';
import type { NodeKind } from '../../src/model/node-targets';

export interface ServedExplainer {
  /** The config version explained. */
  version: number;
  explain(query: Omit<ExplainQuery, 'kind'>): ExplainOutcome;
}

/** An explainer for the config `tether` serves now (take a new one after a change). */
export async function servedExplainer(tether: Tether, kind: NodeKind = 'envoy'): Promise<ServedExplainer> {
  await initHashing();
  const source = createExplainSource({ manager: tether.manager, logger: silentLogger() });
  const { current, translated } = await source.current();
  const ctx = { resources: translated.wire(kind), owners: translated.owners, pickers: translated.pickers };
  return { version: current.version, explain: (query) => explainRequest({ ...query, kind }, ctx) };
}
