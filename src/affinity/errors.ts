/**
 * The one error type affinity/ throws. `code` uses the control layer's names (gRPC status
 * names), so callers can map it without a table.
 */
export type AffinityErrorCode = 'INVALID_ARGUMENT' | 'FAILED_PRECONDITION';

export class AffinityError extends Error {
  constructor(
    readonly code: AffinityErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'AffinityError';
  }
}
