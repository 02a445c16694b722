/**
 * One interface over the two consistent-hash balancers, built the way a given kind of client
 * builds them from what Tether sends it.
 *
 * What each client runs for a backend's BalancerSpec (translate/cluster.ts, which this mirrors):
 * - Envoy: ring_hash → RING_HASH with the spec's min/max; maglev → MAGLEV with its table size.
 * - gRPC (grpc-js-xds): ring_hash → RING_HASH, sizes clamped to the ring_size_cap (4096);
 *   maglev → RING_HASH with no ring config, i.e. min 1024 / max 8M (cluster-resource-type.js
 *   defaults), clamped to the cap.
 * - round_robin, least_request, random: no consistent hashing, no affinity: no picker.
 */
import type { BalancerSpec } from '../model/types';
import type { Flavour } from './hash-policy';
import { balancerHosts, type AffinityEndpoint, type BalancerHost } from './hosts';
import { buildMaglev, maglevShares, maglevSlot, type MaglevTable } from './maglev';
import { buildRing, ringIndex, ringShares, type HashRing } from './ring-hash';

export type PickLocation =
  | { kind: 'ring_hash'; address: string; index: number; entryHash: bigint; ringSize: number }
  | { kind: 'maglev'; address: string; slot: number; tableSize: number };

export interface Picker {
  readonly kind: 'ring_hash' | 'maglev';
  readonly hosts: readonly BalancerHost[];
  /** The address serving `hash`, assuming every host is reachable; undefined without hosts. */
  pick(hash: bigint): string | undefined;
  /** Where `hash` lands (ring entry or table slot); undefined without hosts. */
  locate(hash: bigint): PickLocation | undefined;
  /** The exact share of the 64-bit hash space each address serves. */
  shares(): Map<string, number>;
  /** The ring or table itself, for drawing it (the web console); absent for a composite picker. Read only. */
  readonly layout?: { kind: 'ring_hash'; ring: HashRing } | { kind: 'maglev'; table: MaglevTable };
}

export interface PickerOptions {
  flavour: Flavour;
  /** grpc only: the channel's `grpc.lb.ring_hash.ring_size_cap` (default 4096). */
  ringSizeCap?: number;
}

/** Whether a balancer does consistent hashing (and so gives session affinity) for this client kind. */
export function isHashing(balancer: BalancerSpec): balancer is Extract<BalancerSpec, { type: 'ring_hash' | 'maglev' }> {
  return balancer.type === 'ring_hash' || balancer.type === 'maglev';
}

/** The picker a client of `opts.flavour` builds, or undefined when the balancer does not hash. */
export function createPicker(endpoints: readonly AffinityEndpoint[], balancer: BalancerSpec, opts: PickerOptions): Picker | undefined {
  const hosts = balancerHosts(endpoints, opts.flavour);
  const cap = opts.ringSizeCap === undefined ? {} : { ringSizeCap: opts.ringSizeCap };
  switch (balancer.type) {
    case 'ring_hash':
      return ringPicker(
        buildRing(hosts, { flavour: opts.flavour, minRingSize: balancer.minRingSize, maxRingSize: balancer.maxRingSize, ...cap }),
      );
    case 'maglev':
      if (opts.flavour === 'grpc') return ringPicker(buildRing(hosts, { flavour: 'grpc', ...cap }));
      return maglevPicker(buildMaglev(hosts, balancer.tableSize));
    default:
      return undefined;
  }
}

export function ringPicker(ring: HashRing): Picker {
  let shares: Map<string, number> | undefined;
  const locate = (hash: bigint): PickLocation | undefined => {
    const index = ringIndex(ring, hash);
    if (index < 0) return undefined;
    const address = ring.hosts[ring.owners[index]!]!.address;
    return { kind: 'ring_hash', address, index, entryHash: ring.hashes[index]!, ringSize: ring.hashes.length };
  };
  return {
    kind: 'ring_hash',
    hosts: ring.hosts,
    pick: (hash) => {
      const index = ringIndex(ring, hash);
      return index < 0 ? undefined : ring.hosts[ring.owners[index]!]!.address;
    },
    locate,
    // A ring of millions of entries takes a second to measure: once per picker.
    shares: () => new Map((shares ??= ringShares(ring))),
    layout: { kind: 'ring_hash', ring },
  };
}

export function maglevPicker(table: MaglevTable): Picker {
  const locate = (hash: bigint): PickLocation | undefined => {
    if (table.slots.length === 0) return undefined;
    const slot = maglevSlot(table, hash);
    return { kind: 'maglev', address: table.hosts[table.slots[slot]!]!.address, slot, tableSize: table.tableSize };
  };
  return {
    kind: 'maglev',
    hosts: table.hosts,
    pick: (hash) => (table.slots.length === 0 ? undefined : table.hosts[table.slots[maglevSlot(table, hash)]!]!.address),
    locate,
    shares: () => maglevShares(table),
    layout: { kind: 'maglev', table },
  };
}
