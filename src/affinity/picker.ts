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
import { buildRing, effectiveRingSizes, ringIndex, ringShares, type HashRing } from './ring-hash';
import { normalizedWeights } from './hosts';

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
  /**
   * Ring hash only: the first ring entry from `hash`'s on whose replica is not `skip`, on this
   * same ring. That is where an Envoy retry with the previous_hosts predicate goes (it tries
   * entry index + attempt), and where a gRPC client sends the session while `skip`'s
   * connection is down (it walks the ring to a READY subchannel).
   */
  walk?(hash: bigint, skip: string | ReadonlySet<string>): string | undefined;
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
  const data = pickerData(endpoints, balancer, opts);
  return data && pickerFrom(data);
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
    walk: (hash, skip) => {
      const start = ringIndex(ring, hash);
      if (start < 0) return undefined;
      const skipped = typeof skip === 'string' ? (a: string) => a === skip : (a: string) => skip.has(a);
      for (let step = 0; step < ring.hashes.length; step++) {
        const address = ring.hosts[ring.owners[(start + step) % ring.hashes.length]!]!.address;
        if (!skipped(address)) return address;
      }
      return undefined;
    },
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

/**
 * Roughly what building the picker costs, in ring entries (a maglev slot counts 1/16: filling
 * one is far cheaper than hashing and sorting an entry). ~2–3.5 µs per entry measured, so a
 * caller sharing the event loop can send costly ones (a 2,000-endpoint stable ring: 2M) elsewhere.
 */
export function pickerCost(endpoints: readonly AffinityEndpoint[], balancer: BalancerSpec, flavour: Flavour): number {
  if (balancer.type !== 'ring_hash' && balancer.type !== 'maglev') return 0;
  if (balancer.type === 'maglev' && flavour === 'envoy') return balancer.tableSize / 16;
  try {
    const hosts = balancerHosts(endpoints, flavour);
    if (hosts.length === 0) return 0;
    const sizes = balancer.type === 'ring_hash' ? { minRingSize: balancer.minRingSize, maxRingSize: balancer.maxRingSize } : {};
    const { minRingSize, maxRingSize } = effectiveRingSizes({ flavour, ...sizes });
    let minNorm = 1;
    for (const w of normalizedWeights(hosts)) minNorm = Math.min(minNorm, w);
    return Math.min(Math.ceil(minNorm * minRingSize) / minNorm, maxRingSize);
  } catch {
    return 0; // invalid sizes: building fails at once
  }
}

/** What a picker is built from, as plain data (a worker can build it and send it back). */
/** `shares`: the exact shares, when measured where the data was built (a worker). */
export type PickerData = ({ kind: 'ring_hash'; ring: HashRing } | { kind: 'maglev'; table: MaglevTable }) & { shares?: Map<string, number> };

export function pickerData(endpoints: readonly AffinityEndpoint[], balancer: BalancerSpec, opts: PickerOptions): PickerData | undefined {
  const hosts = balancerHosts(endpoints, opts.flavour);
  const cap = opts.ringSizeCap === undefined ? {} : { ringSizeCap: opts.ringSizeCap };
  switch (balancer.type) {
    case 'ring_hash':
      return { kind: 'ring_hash', ring: buildRing(hosts, { flavour: opts.flavour, minRingSize: balancer.minRingSize, maxRingSize: balancer.maxRingSize, ...cap }) };
    case 'maglev':
      if (opts.flavour === 'grpc') return { kind: 'ring_hash', ring: buildRing(hosts, { flavour: 'grpc', ...cap }) };
      return { kind: 'maglev', table: buildMaglev(hosts, balancer.tableSize) };
    default:
      return undefined;
  }
}

export function pickerFrom(data: PickerData): Picker {
  const picker = data.kind === 'ring_hash' ? ringPicker(data.ring) : maglevPicker(data.table);
  const shares = data.shares;
  return shares ? { ...picker, shares: () => new Map(shares) } : picker;
}
