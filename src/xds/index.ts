export { ADS_SERVER_OPTIONS, ADS_SERVICE_NAME, addAdsService, createAdsService, type AdsServerOptions, type AdsService } from './ads-server';
export { XDS_LIMITS } from './limits';
export { DeltaStream, type DeltaStreamOptions } from './delta-stream';
export { SotwStream, type SotwStreamOptions } from './sotw-stream';
export { classifyNode, nodeTarget, ENVOY_API_METADATA_KEY, NODE_KIND_METADATA_KEY, type ClassifiableNode } from './node-kind';
export {
  NodeRegistry,
  type NodeStatus,
  type NodeStatusChange,
  type NodeStatusListener,
  type StreamIdentity,
  type TypeStatus,
} from './node-status';
export { decodeDiscoveryRequest, decodeDeltaDiscoveryRequest } from './request-decoder';
export {
  decodeDiscoveryResponse,
  encodeDiscoveryRequest,
  encodeDiscoveryResponse,
  type DiscoveryRequestIn,
  type DiscoveryResponseIn,
  type DiscoveryResponseOut,
  decodeDeltaDiscoveryResponse,
  encodeDeltaDiscoveryRequest,
  encodeDeltaDiscoveryResponse,
  type DeltaDiscoveryRequestIn,
  type DeltaDiscoveryResponseIn,
  type DeltaDiscoveryResponseOut,
} from './discovery-codec';
