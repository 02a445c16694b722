import type { EnvoyResources } from '../envoy/resources';

/**
 * Something the translation had to drop or change because a kind of node cannot express it
 * (mostly proxyless gRPC), or because the input could not be emitted as given. Data, not logs:
 * translate/ stays pure; callers decide whether to log, surface or ignore these.
 */
export interface TranslateWarning {
  /** Where in the model, e.g. `services[shop].routes[canary].match.queryParams`. */
  path: string;
  message: string;
}

export interface TranslateResult {
  resources: EnvoyResources;
  /** In a stable order (model order), so two runs on the same input give equal lists. */
  warnings: TranslateWarning[];
}
