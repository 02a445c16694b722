/**
 * Envoy's Maglev table (Eisenbud et al., NSDI '16, pseudocode listing 1, with weights).
 *
 * Facts relied on (source/extensions/load_balancing_policies/maglev/maglev_lb.{h,cc}):
 * - Table size M defaults to 65537 and must be prime ("The table size of maglev must be prime
 *   number"); the API caps it at 5,000,011 (maglev.proto, table_size lte).
 * - Hosts are sorted by their hash key (std::sort of (key, host, weight) tuples, so bytewise by
 *   key), making the table independent of EDS order (test BasicStability).
 * - Per host: offset = XXH64(key, 0) % M, skip = XXH64(key, 1) % (M − 1) + 1; the host's n-th
 *   preference is (offset + skip × n) % M.
 * - Fill: for iteration = 1, 2, … until the table is full, each host in sorted order takes its
 *   next free preferred slot if `iteration × weight >= target`, then `target += maxWeight`
 *   (weights are normalized: weight / sum; target starts at 0). A host of the largest weight
 *   takes a slot every round; one of a third of it, every third round.
 * - Lookup: table[hash % M]. (The compact and the one-host "degenerate" tables Envoy may use
 *   instead pick the same hosts.)
 * - Known vectors: test/extensions/load_balancing_policies/maglev/maglev_lb_test.cc (Basic,
 *   BasicWithHostName, Weighted), checked in test/affinity/maglev.test.ts.
 *
 * grpc-js-xds has no maglev (its CDS parser NACKs lb_policy MAGLEV); Tether sends gRPC nodes a
 * ring hash instead (translate/cluster.ts), see picker.ts.
 */
import { AffinityError } from './errors';
import { compareBytes, xxh64 } from './hash';
import { normalizedWeights, type BalancerHost } from './hosts';

export const MAGLEV_DEFAULT_TABLE_SIZE = 65537;
export const MAGLEV_MAX_TABLE_SIZE = 5_000_011;

export interface MaglevTable {
  tableSize: number;
  hosts: readonly BalancerHost[];
  /** Host index (into `hosts`) per slot. */
  slots: Uint32Array;
  /** Slots per host, in host order. */
  entriesPerHost: number[];
}

export function isPrime(n: number): boolean {
  if (!Number.isInteger(n) || n < 2) return false;
  if (n % 2 === 0) return n === 2;
  for (let d = 3; d * d <= n; d += 2) if (n % d === 0) return false;
  return true;
}

export function buildMaglev(hosts: readonly BalancerHost[], tableSize: number = MAGLEV_DEFAULT_TABLE_SIZE): MaglevTable {
  if (!isPrime(tableSize)) throw new AffinityError('INVALID_ARGUMENT', `maglev table size ${tableSize}: must be a prime number`);
  if (tableSize > MAGLEV_MAX_TABLE_SIZE) {
    throw new AffinityError('INVALID_ARGUMENT', `maglev table size ${tableSize}: must be <= ${MAGLEV_MAX_TABLE_SIZE}`);
  }
  const entriesPerHost = hosts.map(() => 0);
  const slots = new Uint32Array(hosts.length === 0 ? 0 : tableSize);
  if (hosts.length === 0) return { tableSize, hosts, slots, entriesPerHost };

  const norms = normalizedWeights(hosts);
  const maxNorm = Math.max(...norms);
  const M = BigInt(tableSize);
  const build = hosts
    .map((host, index) => ({ host, index }))
    .sort((a, b) => compareBytes(a.host.key, b.host.key))
    .map(({ host, index }) => ({
      index,
      weight: norms[index]!,
      target: 0,
      // (offset + skip × next) % M, kept incrementally.
      position: Number(xxh64(host.key, 0n) % M),
      skip: Number(xxh64(host.key, 1n) % (M - 1n)) + 1,
    }));

  const EMPTY = 0xffffffff;
  slots.fill(EMPTY);
  let filled = 0;
  for (let iteration = 1; filled < tableSize; iteration++) {
    for (let i = 0; i < build.length && filled < tableSize; i++) {
      const entry = build[i]!;
      if (iteration * entry.weight < entry.target) continue;
      entry.target += maxNorm;
      while (slots[entry.position] !== EMPTY) entry.position = (entry.position + entry.skip) % tableSize;
      slots[entry.position] = entry.index;
      entry.position = (entry.position + entry.skip) % tableSize;
      entriesPerHost[entry.index]!++;
      filled++;
    }
  }
  return { tableSize, hosts, slots, entriesPerHost };
}

/** The slot serving `hash`: hash % M. */
export function maglevSlot(table: MaglevTable, hash: bigint): number {
  return Number(hash % BigInt(table.tableSize));
}

export function maglevPick(table: MaglevTable, hash: bigint): string | undefined {
  if (table.slots.length === 0) return undefined;
  return table.hosts[table.slots[maglevSlot(table, hash)]!]!.address;
}

/** The exact share of the hash space each address serves (its slots / M, up to 2^64 mod M). */
export function maglevShares(table: MaglevTable): Map<string, number> {
  const out = new Map<string, number>(table.hosts.map((h) => [h.address, 0]));
  table.hosts.forEach((h, i) => out.set(h.address, out.get(h.address)! + table.entriesPerHost[i]! / table.tableSize));
  return out;
}
