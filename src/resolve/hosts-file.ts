import * as fs from 'node:fs';
import * as net from 'node:net';
import { isDnsName } from '../util/addresses';
import { normalizeAddresses, systemLookup, type LookupFn } from './resolver';

/**
 * Static name overrides in hosts(5) form (`IP name [alias…]`, `#` comments), consulted before
 * DNS: what /etc/hosts or Docker's embedded DNS give containers, for a host where those names
 * do not exist. The local demo (src/demo) serves deploy/compose-config.yaml, whose endpoints
 * are compose service names, this way: the config stays the file it is, names included.
 */
export type HostsTable = ReadonlyMap<string, readonly string[]>;

export class HostsFileError extends Error {}

/** Parses hosts-file text; every bad line is reported as `file:line: message`. */
export function parseHostsText(text: string, source: string): HostsTable {
  const table = new Map<string, string[]>();
  const problems: string[] = [];
  text.split('\n').forEach((raw, i) => {
    const line = raw.replace(/#.*/, '').trim();
    if (line === '') return;
    const [ip, ...names] = line.split(/\s+/);
    const where = `${source}:${i + 1}`;
    if (net.isIP(ip!) === 0) return void problems.push(`${where}: '${ip}' is not an IP address`);
    if (names.length === 0) return void problems.push(`${where}: no name after ${ip}`);
    for (const name of names) {
      if (!isDnsName(name)) {
        problems.push(`${where}: '${name}' is not a valid DNS name`);
        continue;
      }
      const key = name.toLowerCase();
      table.set(key, [...(table.get(key) ?? []), ip!]);
    }
  });
  if (problems.length > 0) throw new HostsFileError(problems.join('\n'));
  return new Map([...table].map(([name, ips]) => [name, normalizeAddresses(ips)]));
}

/** Reads and parses a hosts file; a missing file is an error that names it. */
export function readHostsFile(file: string): HostsTable {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw new HostsFileError(`cannot read hosts file ${file}: ${(err as Error).message}`);
  }
  return parseHostsText(text, file);
}

/** A lookup that answers names in `table` from it (case-insensitively) and the rest from `fallback`. */
export function hostsLookup(table: HostsTable, fallback: LookupFn = systemLookup): LookupFn {
  return async (host) => table.get(host.toLowerCase())?.slice() ?? fallback(host);
}
