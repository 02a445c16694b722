/** compute/: heavy pure computations on a worker thread, off the event loop. */
export { ComputePool, computePool } from './pool';
export { exactShares, resourceChanges, runJob, type DiffInput, type ComputeJob, type ComputeResult, type ShareInput, type ShareOutput } from './jobs';
