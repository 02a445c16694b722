/**
 * One worker thread for Tether's heavy pure computations (jobs.ts), so the event loop that
 * serves xDS, ext_proc and the admin API is never held for seconds: a 2,000-endpoint stable
 * ring (2M entries) takes 4–7 s to build, a million what-if samples 8 s.
 *
 * The worker is started on first use and keeps the process alive only while a job is
 * pending. Jobs run one at a time in submission order. If the worker dies, its pending jobs
 * are rejected and the next job starts a fresh one.
 *
 * Loading: util/module-worker.ts (the built worker-entry.js, or its .ts through esbuild).
 */
import type { Worker } from 'node:worker_threads';
import { startModuleWorker } from '../util/module-worker';
import type { SampleJob, SampleResult } from '../explain';
import type { PendingDiff, ResourceChange } from '../diff/resource-diff';
import type { PickerData } from '../affinity';
import type { ComputeResult, DecodedApply, WorkerJob, DiffInput, PickerInput, RingLayoutResult, ShareInput, ShareOutput } from './jobs';

interface Pending {
  resolve(result: ComputeResult): void;
  reject(err: Error): void;
}

type Reply = { id: number; ok: true; result: ComputeResult } | { id: number; ok: false; error: string };

function startWorker(): Worker {
  return startModuleWorker(__dirname, 'worker-entry');
}

export class ComputePool {
  private worker: Worker | undefined;
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;

  /** Exact Envoy session shares of each cluster's ring or table. */
  shares(clusters: ShareInput[]): Promise<ShareOutput[]> {
    return this.run({ kind: 'shares', clusters }) as Promise<ShareOutput[]>;
  }

  /** One route's what-if sampling. */
  sample(job: SampleJob): Promise<SampleResult> {
    return this.run({ kind: 'sample', job }) as Promise<SampleResult>;
  }

  /** What a change does to one kind of node's resources (encoding, text diffs). */
  diff(diff: DiffInput): Promise<ResourceChange[]> {
    return this.run({ kind: 'diff', diff }) as Promise<ResourceChange[]>;
  }

  /** The text diffs of modified resources (resource-diff.ts renderDiff), in order. */
  textDiffs(pending: PendingDiff[]): Promise<string[]> {
    // Exact copies: a Buffer from Node's pool would clone its whole 8 KB slab.
    const exact = pending.map((p) => ({ ...p, before: new Uint8Array(p.before), after: new Uint8Array(p.after) }));
    return this.run({ kind: 'textDiffs', pending: exact }) as Promise<string[]>;
  }

  /** A ring or maglev table, built as the client kind builds it (undefined: it does not hash). */
  picker(picker: PickerInput): Promise<PickerData | undefined> {
    return this.run({ kind: 'picker', picker }) as Promise<PickerData | undefined>;
  }

  /** GetConfig's response bytes for a document given as JSON text (admin/config-wire.ts). */
  configResponse(json: string, version: number, createdAt: string): Promise<Uint8Array> {
    return this.run({ kind: 'configResponse', json, version, createdAt }) as Promise<Uint8Array>;
  }

  /** A large ApplyConfigRequest decoded, its Struct as document parts (admin/config-wire.ts). */
  decodeApply(bytes: Uint8Array): Promise<DecodedApply> {
    // An exact copy: a Buffer from grpc-js's pool would clone its whole slab.
    return this.run({ kind: 'decodeApply', bytes: new Uint8Array(bytes) }) as Promise<DecodedApply>;
  }

  /** A ring or table built as the client kind builds it, laid out for the console (undefined: it does not hash). */
  ringLayout(picker: PickerInput): Promise<RingLayoutResult | undefined> {
    return this.run({ kind: 'ringLayout', picker }) as Promise<RingLayoutResult | undefined>;
  }

  /** Stops the worker (pending jobs are rejected); a later job starts a new one. */
  async close(): Promise<void> {
    const worker = this.worker;
    if (!worker) return;
    this.detach(worker, new Error('compute worker closed'));
    await worker.terminate();
  }

  private run(job: WorkerJob): Promise<ComputeResult> {
    const worker = this.ensureWorker();
    const id = this.nextId++;
    return new Promise<ComputeResult>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      worker.ref();
      worker.postMessage({ id, job });
    });
  }

  private ensureWorker(): Worker {
    if (this.worker) return this.worker;
    const worker = startWorker();
    worker.unref();
    worker.on('message', (reply: Reply) => {
      const p = this.pending.get(reply.id);
      if (!p) return;
      this.pending.delete(reply.id);
      if (this.pending.size === 0) worker.unref();
      if (reply.ok) p.resolve(reply.result);
      else p.reject(new Error(reply.error));
    });
    worker.on('error', (err) => this.detach(worker, err));
    worker.on('exit', (code) => this.detach(worker, new Error(`compute worker exited (code ${code})`)));
    this.worker = worker;
    return worker;
  }

  private detach(worker: Worker, err: Error): void {
    if (this.worker !== worker) return;
    this.worker = undefined;
    const pending = [...this.pending.values()];
    this.pending.clear();
    for (const p of pending) p.reject(new Error(`compute worker: ${err.message}`));
  }
}

let shared: ComputePool | undefined;

/** The process-wide pool. */
export function computePool(): ComputePool {
  shared ??= new ComputePool();
  return shared;
}
