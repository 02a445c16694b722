import { isIPv4, isIPv6 } from 'node:net';

/**
 * Endpoint and listener addresses. Endpoints may name DNS hosts (resolve/ turns them into
 * IPs, because gRPC clients only accept IPs in EDS); listeners bind, so they need an IP.
 */

export type HostPort = { host: string; port: number };

const DNS_LABEL = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/i;

export function isDnsName(host: string): boolean {
  if (host.length === 0 || host.length > 253) return false;
  const labels = host.split('.');
  // An all-numeric dotted name is a mistyped IPv4 address, never a real host.
  if (labels.every((l) => /^\d+$/.test(l))) return false;
  return labels.every((l) => DNS_LABEL.test(l));
}

export function parsePort(text: string): number | undefined {
  if (!/^\d{1,5}$/.test(text)) return undefined;
  const port = Number(text);
  return port >= 1 && port <= 65535 ? port : undefined;
}

/** "10.0.0.1:8080", "[::1]:8080" or "replica-2.shop:8080"; the host comes back unbracketed. */
export function parseHostPort(text: string): HostPort | { error: string } {
  const example = 'must be host:port, e.g. 10.0.0.1:8080, replica-1:8080 or [::1]:8080';
  if (text.length === 0) return { error: example };
  if (/\s/.test(text)) return { error: 'must not contain spaces' };

  let host: string;
  let portText: string;
  if (text.startsWith('[')) {
    const close = text.indexOf(']');
    if (close < 0) return { error: `missing ']' after the IPv6 address` };
    host = text.slice(1, close);
    if (!isIPv6(host)) return { error: `'${host}' is not a valid IPv6 address` };
    const rest = text.slice(close + 1);
    if (!rest.startsWith(':')) return { error: `missing port after ']' (e.g. [${host}]:8080)` };
    portText = rest.slice(1);
  } else {
    const colons = text.split(':').length - 1;
    if (colons === 0) return { error: `missing port (e.g. ${text}:8080)` };
    if (colons > 1) {
      return { error: 'IPv6 addresses need brackets, e.g. [::1]:8080' };
    }
    const at = text.indexOf(':');
    host = text.slice(0, at);
    portText = text.slice(at + 1);
    if (host.length === 0) return { error: example };
    if (!isIPv4(host) && !isDnsName(host)) {
      return /^[\d.]+$/.test(host)
        ? { error: `'${host}' is not a valid IPv4 address` }
        : { error: `'${host}' is not a valid IP address or DNS name` };
    }
  }
  const port = parsePort(portText);
  if (port === undefined) return { error: `port '${portText}' must be a number from 1 to 65535` };
  return { host, port };
}

/** Listener bind address: an IP literal, brackets optional for IPv6. */
export function parseBindAddress(text: string): string | { error: string } {
  const bare = text.startsWith('[') && text.endsWith(']') ? text.slice(1, -1) : text;
  if (isIPv4(bare) || isIPv6(bare)) return bare;
  return { error: 'must be an IP address, e.g. 0.0.0.0, 127.0.0.1 or ::' };
}
