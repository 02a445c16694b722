/**
 * The address strings that end up inside hashes: host keys of ring/maglev entries, the client
 * IP of a `source_ip` policy, and the connection addresses a generated cookie is made from.
 *
 * Facts relied on:
 * - Envoy's host key is the endpoint's `envoy.lb` metadata `hash_key` when set, else the hostname
 *   with `use_hostname_for_hashing`, else `address()->asString()` ("ip:port", IPv6 as
 *   "[ip]:port") (source/common/upstream/thread_aware_lb_impl.h, HashingLoadBalancer::hashKey).
 * - Envoy prints IPs with inet_ntop (source/common/network/address_impl.cc): IPv6 lowercase,
 *   the longest run of two or more zero groups compressed (the first on a tie), IPv4-mapped and
 *   IPv4-compatible addresses in dotted form (glibc's rules).
 * - `source_ip` hashes `downstream_ip->addressAsString()`: the IP alone, no port, no brackets
 *   (source/common/http/hash_policy.cc, IpHashMethod).
 * - grpc-js-xds keys the ring with `subchannelAddressToString(address)`: `host:port`, IPv6
 *   bracketed, the host string exactly as EDS sent it (grpc-js subchannel-address.js); it ignores
 *   `hash_key` metadata (load-balancer-ring-hash.js constructRing).
 */
import { isIP, isIPv6 } from 'node:net';

/** `ip:port`, IPv6 bracketed; the IP as given (grpc-js-xds's form). */
export function joinHostPort(ip: string, port: number): string {
  return isIPv6(ip) ? `[${ip}]:${port}` : `${ip}:${port}`;
}

/** `ip:port` with the IP canonicalised as Envoy prints it. */
export function envoyAddress(ip: string, port: number): string {
  return joinHostPort(canonicalIp(ip), port);
}

/**
 * The IP as Envoy's `addressAsString()` prints it. Strings that are not IP literals are
 * returned unchanged.
 */
export function canonicalIp(ip: string): string {
  const kind = isIP(ip);
  // node:net accepts only the canonical dotted form (no leading zeros, each octet 0-255): as is.
  if (kind === 4) return ip;
  if (kind === 6) return canonicalIpv6(ip);
  return ip;
}

/**
 * Splits "ip", "ip:port", "[v6]" or "[v6]:port" into its parts (a bare IPv6 literal has no port).
 * Returns undefined when the text is not an IP (with or without a port).
 */
export function splitHostPort(text: string): { ip: string; port?: number } | undefined {
  const s = text.trim();
  if (isIP(s)) return { ip: s };
  const bracketed = /^\[([^\]]+)\](?::(\d{1,5}))?$/.exec(s);
  if (bracketed && isIPv6(bracketed[1]!)) {
    return bracketed[2] === undefined ? { ip: bracketed[1]! } : { ip: bracketed[1]!, port: Number(bracketed[2]) };
  }
  const v4 = /^([^:]+):(\d{1,5})$/.exec(s);
  if (v4 && isIP(v4[1]!) === 4) return { ip: v4[1]!, port: Number(v4[2]) };
  return undefined;
}

function canonicalIpv6(ip: string): string {
  const words = parseIpv6(ip);
  // inet_ntop prints the last 32 bits as dotted IPv4 for ::ffff:a.b.c.d and ::a.b.c.d.
  const zeroPrefix5 = words.slice(0, 5).every((w) => w === 0);
  const mapped = zeroPrefix5 && words[5] === 0xffff;
  const compat = zeroPrefix5 && words[5] === 0 && words[6] !== 0;
  if (mapped || compat) {
    const v4 = `${words[6]! >> 8}.${words[6]! & 0xff}.${words[7]! >> 8}.${words[7]! & 0xff}`;
    return mapped ? `::ffff:${v4}` : `::${v4}`;
  }
  let bestStart = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (words[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && words[j] === 0) j++;
    if (j - i > bestLen) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = words.map((w) => w.toString(16));
  if (bestLen < 2) return hex.join(':');
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLen).join(':')}`;
}

function parseIpv6(ip: string): number[] {
  let text = ip.toLowerCase();
  const zone = text.indexOf('%');
  if (zone >= 0) text = text.slice(0, zone);
  // A trailing dotted IPv4 part stands for the last two groups.
  const dotted = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(text);
  if (dotted) {
    const [a, b, c, d] = dotted.slice(1).map(Number) as [number, number, number, number];
    text = text.slice(0, dotted.index) + `${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const groups = (part: string): number[] => (part === '' ? [] : part.split(':').map((g) => parseInt(g, 16)));
  const gap = text.indexOf('::');
  if (gap < 0) return groups(text);
  const left = groups(text.slice(0, gap));
  const right = groups(text.slice(gap + 2));
  return [...left, ...new Array<number>(8 - left.length - right.length).fill(0), ...right];
}
