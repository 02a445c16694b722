/**
 * The WaitForRollout stream: reads the request, works out the target version, when it was
 * published and how long to wait, and relays watchRollout's views to the client. Cleans up
 * on cancel, on the call's end and on server shutdown.
 */
import * as grpc from '@grpc/grpc-js';
import type { ConfigManagerApi } from '../control/types';
import type { RolloutProgress } from '../generated/tether/tether/admin/v1/RolloutProgress';
import type { WaitForRolloutRequest__Output } from '../generated/tether/tether/admin/v1/WaitForRolloutRequest';
import type { Logger } from '../log';
import type { NodeRegistry } from '../xds/node-status';
import { invalidRequest, toStatus } from './errors';
import { isMalformed } from './request-decoding';
import { RequestFields } from './request-fields';
import { watchRollout, type RolloutView } from './rollout';
import { readNodeKind, toNodeInfo } from './status';

export const DEFAULT_ROLLOUT_TIMEOUT_MS = 30_000;
/**
 * The final message is sent this share of the time left before the call's own deadline (at
 * least 100 ms, at most 2 s), so the client gets it also when a busy event loop fires the
 * timer late: a fixed 100 ms was lost on a loaded machine and the client saw
 * DEADLINE_EXCEEDED instead of TIMED_OUT.
 */
const DEADLINE_MARGIN_SHARE = 0.2;
const DEADLINE_MARGIN_MIN_MS = 100;
const DEADLINE_MARGIN_MAX_MS = 2_000;

/** When the final message goes out for a call whose deadline is `deadline` (ms since the epoch). */
export function finalMessageAt(deadline: number, now: number): number {
  if (!Number.isFinite(deadline)) return deadline;
  const margin = Math.min(DEADLINE_MARGIN_MAX_MS, Math.max(DEADLINE_MARGIN_MIN_MS, (deadline - now) * DEADLINE_MARGIN_SHARE));
  return deadline - margin;
}

type RolloutCall = grpc.ServerWritableStream<WaitForRolloutRequest__Output, RolloutProgress>;

export interface RolloutCallOptions {
  manager: ConfigManagerApi;
  registry: NodeRegistry;
  log: Logger;
  context: Record<string, unknown>;
  /** Cancel functions of the open streams (for shutdown). */
  rollouts: Set<() => void>;
}

function deadlineMs(call: RolloutCall): number {
  const d = call.getDeadline();
  const ms = d instanceof Date ? d.getTime() : d;
  return Number.isFinite(ms) ? ms : Infinity;
}

/** When `version` was published: its creation time in the history, else now. */
async function publishedAt(manager: ConfigManagerApi, version: number): Promise<Date> {
  const current = manager.current();
  const created = version === current.version ? current.createdAt : (await manager.history()).find((v) => v.version === version)?.createdAt;
  const ms = created ? Date.parse(created) : NaN;
  return Number.isFinite(ms) ? new Date(ms) : new Date();
}

export function startRolloutCall(call: RolloutCall, options: RolloutCallOptions): void {
  const { manager, registry, log, context, rollouts } = options;
  let ended = false;
  let cancelWatch: (() => void) | undefined;
  const finish = (status?: Partial<grpc.StatusObject>): void => {
    if (ended) return;
    ended = true;
    cancelWatch?.();
    rollouts.delete(stop);
    if (call.cancelled) return;
    if (status) call.emit('error', status);
    else call.end();
  };
  const stop = (): void => finish({ code: grpc.status.UNAVAILABLE, details: 'the admin server is shutting down' });
  rollouts.add(stop);
  call.on('cancelled', () => finish());

  void (async () => {
    const request: unknown = call.request;
    if (isMalformed(request)) throw invalidRequest([{ path: '', message: `malformed request message: ${request.reason}` }]);
    const req = request as WaitForRolloutRequest__Output;
    const fields = new RequestFields();
    const kind = readNodeKind(req.node_kind, 'node_kind', fields.errors);
    req.node_ids.forEach((id, i) => {
      if (id === '') fields.problem(`node_ids[${i}]`, 'must not be empty');
      else if (id.length > 1024) fields.problem(`node_ids[${i}]`, 'must be at most 1024 characters');
    });
    const nodeIds = [...new Set(req.node_ids)];
    const minNodes = req.min_nodes;
    if (nodeIds.length > 0 && minNodes > nodeIds.length) {
      fields.problem('min_nodes', `${minNodes} is more than the ${nodeIds.length} node id${nodeIds.length === 1 ? '' : 's'} named in node_ids`);
    }
    const current = manager.current().version;
    const target = fields.uint64(req.version, 'version') || current;
    if (target > current) fields.problem('version', `version ${target} does not exist yet (the current version is ${current})`);
    fields.done();
    const nackCutoff = await publishedAt(manager, target);
    const timeoutMs = req.timeout_ms || DEFAULT_ROLLOUT_TIMEOUT_MS;
    const now = Date.now();
    const deadline = Math.min(now + timeoutMs, finalMessageAt(deadlineMs(call), now));
    if (ended) return;
    const toMessage = (view: RolloutView, done: boolean): RolloutProgress => ({
      state: view.state,
      version: target,
      applied: view.applied,
      pending: view.pending,
      nacked: view.nacked.map(toNodeInfo),
      done,
      connected: view.connected,
    });
    cancelWatch = watchRollout({
      registry,
      target,
      selection: { nodeIds, minNodes, ...(kind ? { kind } : {}) },
      nackCutoff,
      deadline,
      emit: (view, done) => {
        if (ended || call.cancelled) return;
        call.write(toMessage(view, done));
        if (done) {
          log.info(
            { ...context, version: target, state: view.state, applied: view.applied.length, pending: view.pending.length, connected: view.connected, minNodes },
            'rollout wait ended',
          );
          finish();
        }
      },
    });
  })().catch((err: unknown) => finish(toStatus(err, log, context)));
}
