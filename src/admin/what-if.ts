/**
 * The WhatIf rpc: the proposed change (a mutation's own request) is read and checked like
 * that mutation, applied to a copy of the current document with the same edit, validated,
 * translated for the node kind beside the current config, and compared (src/explain).
 * Nothing is stored or published.
 */
import { yieldToLoop } from '../util/yield-loop';
import { TetherError } from '../config/errors';
import { MAX_WHAT_IF_SAMPLES, plannedImpacts, servesRoutes, whatIfKinds, type RouteImpactOutcome } from '../explain';
import { proposeConfig, type ProposedChange } from '../control/proposal';
import { edits } from '../control/mutations';
import { DEFAULT_SAMPLES, initHashing } from '../affinity';
import { computePool } from '../compute';
import type { MutationOptions__Output } from '../generated/tether/tether/admin/v1/MutationOptions';
import type { RouteImpact } from '../generated/tether/tether/admin/v1/RouteImpact';
import type { WhatIfRequest__Output } from '../generated/tether/tether/admin/v1/WhatIfRequest';
import type { WhatIfResponse } from '../generated/tether/tether/admin/v1/WhatIfResponse';
import { NODE_KINDS, type NodeKind } from '../model/node-targets';
import { contentHash } from '../util/content-hash';
import { readConfigDocument, readEndpoint, readSplit } from './change-requests';
import type { ExplainSource } from './explain-source';
import { RequestFields } from './request-fields';
import { readNodeKind } from './status';

const CHANGES = ['set_split', 'add_endpoint', 'remove_endpoint', 'drain_endpoint', 'upsert_backend', 'apply_config', 'eject_endpoint'] as const;

/** Bounds on WhatIfRequest.sessions (each is hashed and echoed back per affected route). */
export const MAX_WHAT_IF_SESSIONS = 100_000;
const MAX_SESSION_VALUE = 8192;

interface ReadWhatIf {
  /** Absent for an ejection, which changes no config. */
  change?: ProposedChange;
  /** eject_endpoint: the replica taken out. */
  ejected?: string;
  /** Undefined: the server chooses (see whatIfKinds). */
  kind: NodeKind | undefined;
  samples: number;
  sessions: string[];
  expectedVersion: number;
}

/** The change as the matching mutation handler reads it, with paths under the oneof member. */
export function readWhatIfRequest(req: WhatIfRequest__Output): ReadWhatIf {
  const fields = new RequestFields();
  const kind = readNodeKind(req.node_kind, 'node_kind', fields.errors);
  const samples = req.samples || DEFAULT_SAMPLES;
  if (samples > MAX_WHAT_IF_SAMPLES) fields.problem('samples', `at most ${MAX_WHAT_IF_SAMPLES} (got ${samples})`);
  const sessions = req.sessions;
  if (sessions.length > MAX_WHAT_IF_SESSIONS) fields.problem('sessions', `at most ${MAX_WHAT_IF_SESSIONS} values, got ${sessions.length}`);
  const badSession = sessions.findIndex((v) => v === '' || v.length > MAX_SESSION_VALUE);
  if (badSession >= 0) fields.problem(`sessions[${badSession}]`, `must have 1 to ${MAX_SESSION_VALUE} characters`);
  const field = req.change;
  let change: ProposedChange | undefined;
  let options: MutationOptions__Output | null | undefined;

  switch (field) {
    case 'set_split': {
      const r = req.set_split!;
      options = r.options;
      const { service, route, weights } = readSplit(fields, r, field);
      change = { edit: edits.setSplit(service, route, weights), field };
      break;
    }
    case 'add_endpoint': {
      const e = readEndpoint(fields, req.add_endpoint!, true, field);
      options = req.add_endpoint!.options;
      change = { edit: edits.addEndpoint(e.backend, e.address, e.weight, e.grpcPort), field };
      break;
    }
    case 'remove_endpoint': {
      const e = readEndpoint(fields, req.remove_endpoint!, false, field);
      options = req.remove_endpoint!.options;
      change = { edit: edits.removeEndpoint(e.backend, e.address), field };
      break;
    }
    case 'drain_endpoint': {
      const e = readEndpoint(fields, req.drain_endpoint!, false, field);
      options = req.drain_endpoint!.options;
      change = { edit: edits.drainEndpoint(e.backend, e.address), field };
      break;
    }
    case 'upsert_backend': {
      options = req.upsert_backend!.options;
      const backend = fields.document(req.upsert_backend!.backend, `${field}.backend`);
      change = { edit: edits.upsertBackend(backend), field };
      break;
    }
    case 'apply_config': {
      const r = req.apply_config!;
      options = r.options;
      const document = readConfigDocument(fields, r, field);
      change = { document, field };
      break;
    }
    case 'eject_endpoint': {
      const ejected = fields.address(req.eject_endpoint!.address, `${field}.address`);
      fields.done();
      return { ejected, kind, samples, sessions, expectedVersion: 0 };
    }
    default:
      fields.problem('change', `required: one of ${CHANGES.join(', ')}`);
  }
  const expectedVersion = fields.uint64(options?.expected_version, `${field ?? 'change'}.options.expected_version`);
  fields.done();
  return { change: change!, kind, samples, sessions, expectedVersion };
}

function toRouteImpact(r: RouteImpactOutcome, kind: NodeKind): RouteImpact {
  return {
    node_kind: kind,
    service: r.service,
    route: r.route,
    cluster_before: r.clusterBefore,
    cluster_after: r.clusterAfter,
    sticky_before: r.stickyBefore,
    sticky_after: r.stickyAfter,
    moved: r.moved,
    ideal: r.ideal,
    replicas: r.replicas,
    backends: r.backends,
    key: r.key,
    notes: r.notes,
    sessions: r.sessions,
  };
}

/**
 * `connectedKinds`: the kinds of the nodes connected now, for the default when the request
 * names no kind.
 */
export async function whatIf(source: ExplainSource, req: WhatIfRequest__Output, connectedKinds: () => readonly NodeKind[] = () => []): Promise<WhatIfResponse> {
  const read = readWhatIfRequest(req);
  await initHashing();
  const { current, translated: before } = await source.current();
  if (read.expectedVersion && read.expectedVersion !== current.version) {
    throw new TetherError('ABORTED', `expected version ${read.expectedVersion}, but the current version is ${current.version}`);
  }
  const proposal = read.change ? proposeConfig(current.document, read.change) : { config: current.config };
  await yieldToLoop();
  const after = read.change ? await source.translate(proposal.config) : before;
  const ejected = read.ejected !== undefined ? new Set([read.ejected]) : undefined;
  if (read.ejected !== undefined && !before.owners(read.ejected).length) {
    throw new TetherError('NOT_FOUND', `no backend lists the endpoint ${read.ejected}`);
  }
  for (const kind of NODE_KINDS) {
    await before.ready(kind);
    await after.ready(kind);
  }
  const served = (kind: NodeKind) => servesRoutes(before.wire(kind)) || servesRoutes(after.wire(kind));
  const { kinds, from } = whatIfKinds(read.kind, connectedKinds(), served);
  const routes: RouteImpact[] = [];
  const changes: WhatIfResponse['changes'] = [];
  for (const kind of kinds) {
    // Both wire forms were built in turns above (ready).
    const wireBefore = before.wire(kind);
    const wireAfter = after.wire(kind);
    const measurements = plannedImpacts(
      { resources: wireBefore, owners: before.owners },
      { resources: wireAfter, owners: after.owners, ...(ejected ? { ejected } : {}) },
      { kind, samples: read.samples, sessions: read.sessions },
    );
    for (const planned of measurements) {
      // Building a large ring and sampling take seconds (~0.2 s per route at 100,000 sessions,
      // far more for a 2,000-endpoint ring): on the worker thread, never on the event loop.
      routes.push(toRouteImpact(planned.finish(await computePool().sample(planned.job)), kind));
      // Turning a 2,000-replica result into its answer is ~20 ms, as is sending the diff job.
      await yieldToLoop();
    }
    // Encoding and diffing a 2,000-endpoint assignment takes ~0.5 s: on the worker too.
    for (const c of await computePool().diff({ nodeKind: kind, before: before.resources(kind), after: after.resources(kind) })) {
      changes.push({ node_kind: c.nodeKind, type: c.type, name: c.name, action: c.action, diff: c.diff ?? '' });
    }
  }
  return {
    version: current.version,
    node_kind: kinds[0]!,
    samples: read.samples,
    changed: contentHash(proposal.config) !== contentHash(current.config),
    routes,
    changes,
    node_kinds: kinds,
    unserved_kinds: kinds.filter((k) => !served(k)),
    kinds_from: from,
  };
}
