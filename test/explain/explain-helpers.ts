/** Configs → the resources a kind of node is served → explain / what-if inputs, as the admin API builds them. */
import { expect } from 'vitest';
import { validateConfig } from '../../src/config';
import { endpointOwners, wireResources, type ExplainContext, type WhatIfSide } from '../../src/explain';
import { staticEndpoints, translate, type NodeKind } from '../../src/translate';

export function validConfig(document: Record<string, unknown>) {
  const result = validateConfig(document);
  if (!result.ok) expect.fail(result.errors.map((e) => `${e.path}: ${e.message}`).join('\n'));
  return result.config;
}

/** What `kind` nodes are served for `document` (IP endpoints only). */
export function served(document: Record<string, unknown>, kind: NodeKind): ExplainContext & WhatIfSide {
  const config = validConfig(document);
  const endpoints = staticEndpoints(config);
  return { resources: wireResources(translate(config, endpoints, kind)), owners: endpointOwners(endpoints) };
}

/** A sticky service over `n` replicas 10.0.0.1..n:8080 (backend shop-v1), keyed on x-user. */
export function stickyDoc(n: number, balancer: Record<string, unknown> = { type: 'ring_hash' }, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    listeners: [{ name: 'http', port: 10000 }],
    services: [{ name: 'shop', affinity: { keys: [{ header: 'x-user' }] }, routes: [{ name: 'main', backends: [{ name: 'shop-v1' }] }], ...extra }],
    backends: [{ name: 'shop-v1', endpoints: Array.from({ length: n }, (_, i) => `10.0.0.${i + 1}:8080`), balancer }],
  };
}
