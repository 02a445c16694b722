/**
 * affinity/: Envoy's and grpc-js-xds's session-affinity algorithms as a pure library (no I/O,
 * no logging): request hashes, ring hash, maglev, remap-minimising ring sizes, what-if and
 * explain. Await `initHashing()` once before calling anything else.
 */
export { initHashing, ready, hashingReady, xxh64, rotl64, foldHash, hex64 } from './hash';
export { canonicalIp, envoyAddress, joinHostPort, splitHostPort } from './address';
export { AffinityError, type AffinityErrorCode } from './errors';
export {
  requestHash,
  keyLabel,
  cookieValue,
  queryValue,
  type Flavour,
  type AffinityRequest,
  type GeneratedCookie,
  type HashStep,
  type HashStepOutcome,
  type RequestHashResult,
} from './hash-policy';
export { balancerHosts, normalizedWeights, type AffinityEndpoint, type BalancerHost } from './hosts';
export {
  buildRing,
  ringIndex,
  ringPick,
  ringShares,
  effectiveRingSizes,
  DEFAULT_MIN_RING_SIZE,
  MAX_RING_SIZE,
  GRPC_DEFAULT_RING_SIZE_CAP,
  type HashRing,
  type RingOptions,
} from './ring-hash';
export {
  buildMaglev,
  maglevPick,
  maglevSlot,
  maglevShares,
  isPrime,
  MAGLEV_DEFAULT_TABLE_SIZE,
  MAGLEV_MAX_TABLE_SIZE,
  type MaglevTable,
} from './maglev';
export {
  createPicker,
  ringPicker,
  maglevPicker,
  isHashing,
  pickerCost,
  pickerData,
  pickerFrom,
  type Picker,
  type PickerData,
  type PickerOptions,
  type PickLocation,
} from './picker';
export {
  movedShare,
  sampledShares,
  syntheticHashes,
  nominalShares,
  idealMovedShare,
  DEFAULT_SAMPLES,
} from './movement';
export { stableRingSize, pointsPerWeightForCap, type StableRingSize, type StableRingSizeOptions } from './ring-sizing';
export {
  whatIf,
  explain,
  type BackendState,
  type WhatIfOptions,
  type WhatIfResult,
  type ExplainInput,
  type ExplainResult,
} from './simulate';
