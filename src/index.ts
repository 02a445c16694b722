export * from './model/types';
export * from './translate/types';
export { NODE_KINDS, type NodeKind } from './model/node-targets';
export * from './model/resolved';
export type { EnvoyResources } from './envoy/resources';
