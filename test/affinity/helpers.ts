/** Shared fixtures for the affinity tests. */
export * from '../../src/affinity';
export { compareBytes as compareBytesForTest } from '../../src/affinity/hash';
import type { AffinityEndpoint } from '../../src/affinity';

/** n equal endpoints 10.0.0.1:8080 … 10.0.0.n:8080 (the reference tests' addresses). */
export function equalEndpoints(n: number, weight = 1): AffinityEndpoint[] {
  return Array.from({ length: n }, (_, i) => ({ ip: `10.0.0.${i + 1}`, port: 8080, weight }));
}

/** 127.0.0.1:<port> endpoints, as Envoy's load balancer tests build them. */
export function envoyTestEndpoints(ports: readonly number[], weights?: readonly number[]): AffinityEndpoint[] {
  return ports.map((port, i) => ({ ip: '127.0.0.1', port, weight: weights?.[i] ?? 1 }));
}
