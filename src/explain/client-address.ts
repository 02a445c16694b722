/**
 * Which address Envoy attributes a request to: what a `source_ip` hash policy (a clientIp key)
 * hashes. Decided by the HTTP connection manager of the listener the request arrives on
 * (use_remote_address, xff_num_trusted_hops), from the connection's peer and the
 * X-Forwarded-For header. Envoy 1.40 (source/common/http/conn_manager_utility.cc and the xff
 * original-IP-detection extension), checked through a real Envoy in
 * test/envoy-real/client-address.test.ts:
 * - use_remote_address true: N = 0 → the peer; N > 0 → the Nth X-Forwarded-For address from
 *   the right, as received (before Envoy appends the peer).
 * - use_remote_address false: the (N+1)th address from the right.
 * - The header holds fewer addresses, or that one is not a bare IPv4/IPv6 literal (no port, no
 *   brackets; blanks around it ignored) → the peer.
 * Several X-Forwarded-For header lines are one comma-separated list, in order.
 */
import { isIP } from 'node:net';
import type { HttpConnectionManager__Output } from '../generated/envoy/extensions/filters/network/http_connection_manager/v3/HttpConnectionManager';
import type { Listener } from '../envoy/messages';
import { lookupEnvoyType } from '../envoy/protos';
import { TYPE_PREFIX } from '../envoy/resource-types';

export interface ClientAddressPolicy {
  useRemoteAddress: boolean;
  trustedHops: number;
}

/** Envoy's behaviour when the HCM sets nothing. */
export const ENVOY_DEFAULT_POLICY: ClientAddressPolicy = { useRemoteAddress: false, trustedHops: 0 };

const HCM_TYPE = 'envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager';

/**
 * Route configuration name → the client address policy of the listener whose HCM uses it over
 * RDS, read from the listeners as served (their HCMs decoded through the real proto).
 */
export function clientAddressPolicies(listeners: readonly Listener[]): Map<string, ClientAddressPolicy> {
  const out = new Map<string, ClientAddressPolicy>();
  const type = lookupEnvoyType(HCM_TYPE);
  for (const listener of listeners) {
    for (const chain of listener.filter_chains ?? []) {
      for (const filter of chain.filters ?? []) {
        const any = filter.typed_config as { type_url?: string; value?: Uint8Array } | null | undefined;
        if (any?.type_url !== TYPE_PREFIX + HCM_TYPE || !(any.value instanceof Uint8Array)) continue;
        const hcm = type.toObject(type.decode(any.value), { defaults: true }) as HttpConnectionManager__Output;
        const name = hcm.rds?.route_config_name;
        if (!name) continue;
        out.set(name, { useRemoteAddress: hcm.use_remote_address?.value === true, trustedHops: hcm.xff_num_trusted_hops ?? 0 });
      }
    }
  }
  return out;
}

export interface AttributedAddress {
  /** Absent when neither the header nor the peer gives one. */
  ip?: string;
  /** Where it came from, for explain's notes. */
  source: string;
}

const BLANKS = /^[ \t\f\v\r\n]+|[ \t\f\v\r\n]+$/g;

/** The address `skip` entries left of the right end of `xff`, if it is a bare IP literal. */
function fromRight(xff: string, skip: number): string | undefined {
  let rest = xff;
  for (let i = 0; i < skip; i++) {
    const comma = rest.lastIndexOf(',');
    if (comma < 0) return undefined;
    rest = rest.slice(0, comma);
  }
  const candidate = rest.slice(rest.lastIndexOf(',') + 1).replace(BLANKS, '');
  // node accepts an IPv6 zone ("fe80::1%eth0"); inet_pton, which Envoy uses, does not.
  return isIP(candidate) !== 0 && !candidate.includes('%') ? candidate : undefined;
}

const ordinal = (n: number) => `${n}${n % 10 === 1 && n % 100 !== 11 ? 'st' : n % 10 === 2 && n % 100 !== 12 ? 'nd' : n % 10 === 3 && n % 100 !== 13 ? 'rd' : 'th'}`;

/** The address Envoy hashes for a request with `xff` (header value(s)) from `peer` (an IP). */
export function attributedAddress(policy: ClientAddressPolicy, peer: string | undefined, xff: string | readonly string[] | undefined): AttributedAddress {
  const header = xff === undefined ? undefined : typeof xff === 'string' ? xff : xff.join(',');
  const position = policy.useRemoteAddress ? policy.trustedHops : policy.trustedHops + 1;
  const trust = policy.useRemoteAddress
    ? `use_remote_address with ${policy.trustedHops} trusted hop${policy.trustedHops === 1 ? '' : 's'}`
    : `use_remote_address off, ${policy.trustedHops} trusted hop${policy.trustedHops === 1 ? '' : 's'}`;
  const fallback = (why: string): AttributedAddress =>
    peer === undefined ? { source: `${why}; no connection address given (client_ip)` } : { ip: peer, source: `the connection's peer ${peer} (${why})` };
  if (position === 0) return fallback(`${trust}: X-Forwarded-For is not trusted`);
  if (header === undefined) return fallback(`${trust}, and no X-Forwarded-For`);
  const found = fromRight(header, position - 1);
  if (found === undefined) return fallback(`${trust}: X-Forwarded-For has no IP address ${ordinal(position)} from the right`);
  return { ip: found, source: `X-Forwarded-For's ${ordinal(position)} address from the right (${trust})` };
}
