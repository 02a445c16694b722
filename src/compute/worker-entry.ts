/** The compute worker thread (pool.ts starts it): runs one job per message, in order. */
import { parentPort } from 'node:worker_threads';
import { runJob, type ComputeJob } from './jobs';

interface Request {
  id: number;
  job: ComputeJob;
}

parentPort?.on('message', (msg: Request) => {
  runJob(msg.job).then(
    (result) => parentPort!.postMessage({ id: msg.id, ok: true, result }),
    (err: unknown) => parentPort!.postMessage({ id: msg.id, ok: false, error: err instanceof Error ? err.message : String(err) }),
  );
});
