/**
 * The translated resources Explain and WhatIf read: a config translated for a kind of node
 * with its endpoints resolved the way the publisher resolves them (resolve/resolver.ts; no
 * lookup at all for IP endpoints), so they equal what the snapshot cache serves for it. The
 * current config's translation is kept until the config changes (or, when it names DNS
 * hosts, for a few seconds), so a burst of Explain calls translates once.
 */
import type { Picker } from '../affinity';
import type { ConfigManagerApi, CurrentConfig } from '../control/types';
import { TetherError } from '../config/errors';
import { sliceTurns, yieldToLoop } from '../util/yield-loop';
import { endpointOwners, endpointOwnersInTurns, wireResources, wireResourcesInTurns, type EndpointOwners, type WireResources } from '../explain';
import type { Logger } from '../log';
import type { TetherConfig } from '../model/types';
import { createEndpointResolver, isIpLiteral, type LookupFn } from '../resolve/resolver';
import type { Rendition, RenditionView } from '../control/rendition';
import { translate } from '../translate';
import type { EnvoyResources } from '../envoy/resources';
import type { NodeKind } from '../model/node-targets';
import type { ResolvedEndpoints } from '../model/resolved';

/** How long a translation of a config with DNS names is reused (names may resolve anew). */
const DNS_REUSE_MS = 5_000;

export interface TranslatedConfig {
  readonly config: TetherConfig;
  readonly endpoints: ResolvedEndpoints;
  readonly owners: EndpointOwners;
  /** Caveats about how the resources were obtained. */
  readonly notes: readonly string[];
  /** Explain's balancers for these resources (ExplainContext.pickers), built on first use. */
  readonly pickers: Map<string, Picker | undefined>;
  resources(kind: NodeKind): EnvoyResources;
  wire(kind: NodeKind): WireResources;
  /**
   * Translates for `kind` and converts to the wire form in event-loop turns, so that the
   * synchronous resources()/wire() after it find both ready (at 2,000 endpoints or 10,000
   * services either holds the loop well past 50 ms in one go).
   */
  ready(kind: NodeKind): Promise<void>;
}

export interface ExplainSourceOptions {
  manager: ConfigManagerApi;
  logger: Logger;
  /** DNS lookup for endpoint names (default: the resolver's, getaddrinfo). */
  lookup?: LookupFn;
  /**
   * The served rendition (control/rendition.ts): when it is the current config's, Explain
   * reads its endpoints and resources, i.e. what clients are served, and resolves nothing.
   */
  served?: () => Rendition | undefined;
}

/** Explain's reading of a rendition, built once per rendition. */
const EXPLAIN_VIEW: RenditionView<TranslatedConfig> = {
  name: 'explain',
  build(r) {
    const wire = new Map<NodeKind, WireResources>();
    // Indexed in turns by ready() (10,000 backends: 60–280 ms in one go); at once if asked first.
    let owners: EndpointOwners | undefined;
    let indexing: Promise<void> | undefined;
    return {
      config: r.config,
      endpoints: r.endpoints,
      owners: (address) => (owners ??= endpointOwners(r.endpoints))(address),
      notes: [],
      pickers: new Map(),
      resources: (kind) => r.resources.get(kind)!,
      wire(kind) {
        let w = wire.get(kind);
        if (!w) wire.set(kind, (w = wireResources(r.resources.get(kind)!)));
        return w;
      },
      // Decoding the wire form is tens of ms at 2,000 endpoints: in event-loop turns, once.
      async ready(kind) {
        indexing ??= endpointOwnersInTurns(r.endpoints, sliceTurns()).then((built) => void (owners ??= built));
        await indexing;
        if (wire.has(kind)) return;
        const w = await wireResourcesInTurns(r.resources.get(kind)!, yieldToLoop);
        if (!wire.has(kind)) wire.set(kind, w);
      },
    };
  },
};

export interface ExplainSource {
  /** The current config and its translation. */
  current(): Promise<{ current: CurrentConfig; translated: TranslatedConfig }>;
  /** Any (validated) config, translated the same way. */
  translate(config: TetherConfig): Promise<TranslatedConfig>;
}

function dnsNames(config: TetherConfig): string[] {
  return [...new Set(config.backends.flatMap((b) => b.endpoints.filter((e) => !isIpLiteral(e.host)).map((e) => e.host)))];
}

export function createExplainSource(options: ExplainSourceOptions): ExplainSource {
  const log = options.logger;
  let cached: { config: TetherConfig; at: number; dns: boolean; translated: TranslatedConfig } | undefined;

  const translateConfig = async (config: TetherConfig): Promise<TranslatedConfig> => {
    const names = dnsNames(config);
    let endpoints: ResolvedEndpoints;
    const resolver = createEndpointResolver({ onChange: () => undefined, logger: log, ...(options.lookup ? { lookup: options.lookup } : {}) });
    try {
      endpoints = await resolver.setConfig(config);
    } finally {
      resolver.close();
    }
    const byKind = new Map<NodeKind, { resources: EnvoyResources; wire?: WireResources }>();
    const entry = (kind: NodeKind) => {
      let e = byKind.get(kind);
      if (!e) {
        try {
          e = { resources: translate(config, endpoints, kind) };
        } catch (err) {
          const message = `could not translate config: ${(err as Error).message}`;
          throw new TetherError('INVALID_ARGUMENT', message, [{ path: '', message }]);
        }
        byKind.set(kind, e);
      }
      return e;
    };
    return {
      config,
      endpoints,
      owners: endpointOwners(endpoints),
      notes: names.length > 0 ? [`DNS names resolved for this answer: ${names.join(', ')}`] : [],
      pickers: new Map(),
      resources: (kind) => entry(kind).resources,
      wire(kind) {
        const e = entry(kind);
        e.wire ??= wireResources(e.resources);
        return e.wire;
      },
      async ready(kind) {
        if (byKind.get(kind)?.wire) return;
        await yieldToLoop();
        const e = entry(kind);
        await yieldToLoop();
        const wire = await wireResourcesInTurns(e.resources, yieldToLoop);
        e.wire ??= wire;
        },
    };
  };

  return {
    async current() {
      const current = options.manager.current();
      const served = options.served?.();
      if (served && served.config === current.config) return { current, translated: served.view(EXPLAIN_VIEW) };
      const fresh = cached?.config === current.config && (!cached.dns || Date.now() - cached.at < DNS_REUSE_MS);
      if (fresh) return { current, translated: cached!.translated };
      const translated = await translateConfig(current.config);
      cached = { config: current.config, at: Date.now(), dns: dnsNames(current.config).length > 0, translated };
      return { current, translated };
    },
    translate: translateConfig,
  };
}
