/**
 * The compute worker thread (pool.ts starts it): runs one job per message, in order. This entry
 * is a layer of its own (.dependency-cruiser.cjs): besides compute/'s pure jobs it links the
 * admin API's wire work (GetConfig's response bytes, large ApplyConfig requests decoded), which
 * compute/ itself, a floor below admin/, must not import.
 */
import { parentPort } from 'node:worker_threads';
import { decodeApplyRequest, getConfigResponseBytes } from '../admin/config-wire';
import { runJob, type ComputeResult, type WorkerJob } from './jobs';

interface Request {
  id: number;
  job: WorkerJob;
}

async function run(job: WorkerJob): Promise<ComputeResult> {
  switch (job.kind) {
    case 'configResponse':
      return getConfigResponseBytes({ version: job.version, createdAt: job.createdAt, document: JSON.parse(job.json) as Record<string, unknown> });
    case 'decodeApply':
      return decodeApplyRequest(job.bytes);
    default:
      return runJob(job);
  }
}

parentPort?.on('message', (msg: Request) => {
  run(msg.job).then(
    (result) => parentPort!.postMessage({ id: msg.id, ok: true, result }),
    (err: unknown) => parentPort!.postMessage({ id: msg.id, ok: false, error: err instanceof Error ? err.message : String(err) }),
  );
});
