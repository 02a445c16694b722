import type { TetherConfig } from '../model/types';
import type { Snapshot } from '../cache/snapshot';
import type { EnvoyResources } from '../envoy/resources';
import type { NodeKind } from '../model/node-targets';
import type { ResolvedEndpoints, TlsMaterial } from '../model/resolved';
import type { ConfigWarning } from './config-warnings';

/**
 * A derived view of a rendition (rings, endpoint owners, explain's indexes...): built from the
 * rendition on first use and kept with it, so every reader of one version shares one copy and
 * a view never outlives (or mixes) versions. Use one constant key object per view.
 */
export interface RenditionView<T> {
  readonly name: string;
  build(rendition: Rendition): T;
}

/**
 * The immutable product of one config version: the validated model, the endpoints its DNS
 * names resolved to, and per node kind the Envoy resources and the encoded snapshot (its
 * wire form). Only the publisher makes renditions; `served()` is the one clients get,
 * `render(config)` a dry run. Dry-run diffs, status and explain read renditions instead of
 * resolving and translating again, so they show what is (or would be) served.
 */
export interface Rendition {
  /** The config version (for a dry run: the version it would get). */
  readonly version: number;
  readonly config: TetherConfig;
  /** Backend → its resolved endpoints, as translated into this rendition. */
  readonly endpoints: ResolvedEndpoints;
  /** Listener name → its certificate and key (SDS secrets), as translated into this rendition. */
  readonly tls: TlsMaterial;
  /** What each kind of node is (or would be) sent. */
  readonly resources: ReadonlyMap<NodeKind, EnvoyResources>;
  /** The encoded snapshots (Any bytes per resource) of each kind. */
  readonly snapshots: ReadonlyMap<NodeKind, Snapshot>;
  /** What the translation left out or replaced, per target (config-warnings.ts). */
  readonly warnings: readonly ConfigWarning[];
  /** A derived view, built lazily once per rendition. */
  view<T>(key: RenditionView<T>): T;
}

export function makeRendition(parts: Omit<Rendition, 'view'>): Rendition {
  const views = new Map<RenditionView<unknown>, unknown>();
  const rendition: Rendition = Object.freeze({
    ...parts,
    view<T>(key: RenditionView<T>): T {
      if (!views.has(key)) views.set(key, key.build(rendition));
      return views.get(key) as T;
    },
  });
  return rendition;
}

/** A view: the clusters each node kind is served, by name. */
export const CLUSTERS_BY_KIND: RenditionView<ReadonlyMap<NodeKind, ReadonlyMap<string, EnvoyResources['clusters'][number]>>> = {
  name: 'clusters by kind',
  build: (r) => new Map([...r.resources].map(([kind, res]) => [kind, new Map(res.clusters.map((c) => [c.name ?? '', c]))])),
};
