/**
 * Tether's default ports, in one place: the server, the CLI and the docs all use these
 * (the Envoy bootstraps in envoy/ point at 18000 and 18002).
 */
export const DEFAULT_PORTS = {
  /** xDS (ADS, gRPC). */
  xds: 18000,
  /** Admin API (gRPC). */
  admin: 18001,
  /** ext_proc session-key server (gRPC), the bootstraps' tether-extproc cluster. */
  extProc: 18002,
  /** Prometheus `GET /metrics` (HTTP). */
  metrics: 18003,
} as const;
