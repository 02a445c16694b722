/** compute/: heavy pure computations on a worker thread, off the event loop. */
export { ComputePool, computePool } from './pool';
export { WORKER_MIN_COST, exactShares, resourceChanges, runJob, type DiffInput, type PickerInput, type RingLayoutResult, type ComputeJob, type ComputeResult, type ShareInput, type ShareOutput } from './jobs';
