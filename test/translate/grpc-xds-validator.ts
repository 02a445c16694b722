/**
 * Runs translated resources through grpc-js-xds's own decoders (the code a proxyless client
 * uses to ACK or NACK), so tests can assert "a gRPC client accepts this" without a server.
 * These are internal modules of @grpc/grpc-js-xds 1.14.1 (pinned in package.json).
 */
import { encodeMessage } from '../../src/envoy/encode';
import type { EnvoyResources } from '../../src/translate';

interface Decoder {
  decode(context: unknown, resource: { type_url: string; value: Buffer }): { name: string; error?: string };
}
type ResourceType = { get(): Decoder };
const load = (file: string, name: string): ResourceType =>
  (require(`@grpc/grpc-js-xds/build/src/xds-resource-type/${file}`) as Record<string, ResourceType>)[name]!;

// register() fills grpc-js-xds's HTTP filter registry (the router filter); listener
// validation consults it.
(require('@grpc/grpc-js-xds') as { register(): void }).register();

const LISTENER = load('listener-resource-type', 'ListenerResourceType');
const ROUTE = load('route-config-resource-type', 'RouteConfigurationResourceType');
const CLUSTER = load('cluster-resource-type', 'ClusterResourceType');
const ENDPOINT = load('endpoint-resource-type', 'EndpointResourceType');

const CONTEXT = { bootstrap: { certificateProviders: {} }, server: {} };
const T = 'type.googleapis.com/';

/** Every NACK reason grpc-js-xds would give for these resources (empty: all accepted). */
export function grpcXdsErrors(resources: EnvoyResources): string[] {
  const errors: string[] = [];
  const check = (type: ResourceType, typeName: string, value: Buffer): void => {
    const result = type.get().decode(CONTEXT, { type_url: T + typeName, value });
    if (result.error) errors.push(`${result.name}: ${result.error}`);
  };
  for (const m of resources.listeners) check(LISTENER, 'envoy.config.listener.v3.Listener', encodeMessage('envoy.config.listener.v3.Listener', m));
  for (const m of resources.routes) check(ROUTE, 'envoy.config.route.v3.RouteConfiguration', encodeMessage('envoy.config.route.v3.RouteConfiguration', m));
  for (const m of resources.clusters) check(CLUSTER, 'envoy.config.cluster.v3.Cluster', encodeMessage('envoy.config.cluster.v3.Cluster', m));
  for (const m of resources.endpoints) {
    check(ENDPOINT, 'envoy.config.endpoint.v3.ClusterLoadAssignment', encodeMessage('envoy.config.endpoint.v3.ClusterLoadAssignment', m));
  }
  return errors;
}
