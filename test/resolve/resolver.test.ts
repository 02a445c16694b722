import { afterEach, describe, expect, it, vi } from 'vitest';
import pino from 'pino';
import type { BackendSpec, EndpointSpec, TetherConfig } from '../../src/model/types';
import type { ResolvedEndpoints } from '../../src/model/resolved';
import {
  createEndpointResolver,
  type EndpointResolver,
  isIpLiteral,
  normalizeAddresses,
  sameResolvedEndpoints,
  systemLookup,
} from '../../src/resolve/resolver';

function backend(name: string, endpoints: Array<Partial<EndpointSpec> & { host: string }>): BackendSpec {
  return {
    name,
    endpoints: endpoints.map((e) => ({ port: 8080, weight: 1, drain: false, ...e })),
    balancer: { type: 'round_robin' },
    connectTimeoutMs: 1000,
    protocol: 'http1',
  };
}

function config(...backends: BackendSpec[]): TetherConfig {
  return { listeners: [], services: [], backends };
}

function plain(endpoints: ResolvedEndpoints): Record<string, unknown[]> {
  return Object.fromEntries([...endpoints].map(([k, v]) => [k, [...v]]));
}

/** A fake DNS: a table that tests edit; a name mapped to an Error fails. */
function fakeDns(table: Record<string, string[] | Error>) {
  const calls: string[] = [];
  const lookup = vi.fn(async (host: string) => {
    calls.push(host);
    const entry = table[host];
    if (entry === undefined) throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${host}`), { code: 'ENOTFOUND' });
    if (entry instanceof Error) throw entry;
    return entry;
  });
  return { table, calls, lookup };
}

/** A pino logger that records warn-and-above messages. */
function recordingLogger() {
  const lines: Array<{ level: number; msg: string; host?: string }> = [];
  const logger = pino({ level: 'warn' }, { write: (line: string) => void lines.push(JSON.parse(line)) });
  return { logger, lines };
}

const resolvers: EndpointResolver[] = [];
afterEach(() => {
  resolvers.splice(0).forEach((r) => r.close());
  vi.useRealTimers();
});

function make(options: Parameters<typeof createEndpointResolver>[0]): EndpointResolver {
  const r = createEndpointResolver(options);
  resolvers.push(r);
  return r;
}

describe('setConfig', () => {
  it('passes IP literals through untouched, without a lookup (IPv4, IPv6, bracketed IPv6)', async () => {
    const dns = fakeDns({});
    const r = make({ lookup: dns.lookup, onChange: () => undefined });
    const result = await r.setConfig(
      config(backend('b', [{ host: '10.0.0.2', weight: 3 }, { host: '::1', port: 9090 }, { host: '[fd00::7]', port: 81 }])),
    );
    expect(plain(result)).toEqual({
      b: [
        { ip: '10.0.0.2', port: 8080, weight: 3 },
        { ip: '::1', port: 9090, weight: 1 },
        { ip: 'fd00::7', port: 81, weight: 1 },
      ],
    });
    expect(dns.calls).toEqual([]);
    expect(r.current()).toBe(result);
  });

  it('expands a name into one endpoint per address, keeping endpoint order, port and weight', async () => {
    const dns = fakeDns({ 'svc.internal': ['10.0.0.20', '10.0.0.3'], 'v6.internal': ['fd00::2'] });
    const r = make({ lookup: dns.lookup, onChange: () => undefined });
    const result = await r.setConfig(
      config(
        backend('a', [{ host: '10.0.0.1' }, { host: 'svc.internal', port: 81, weight: 2 }, { host: '10.0.0.9' }]),
        backend('b', [{ host: 'v6.internal', port: 9090 }, { host: 'svc.internal' }]),
      ),
    );
    expect(plain(result)).toEqual({
      a: [
        { ip: '10.0.0.1', port: 8080, weight: 1 },
        // Sorted numerically, so the order does not depend on the DNS server's rotation.
        { ip: '10.0.0.3', port: 81, weight: 2, hostname: 'svc.internal' },
        { ip: '10.0.0.20', port: 81, weight: 2, hostname: 'svc.internal' },
        { ip: '10.0.0.9', port: 8080, weight: 1 },
      ],
      b: [
        { ip: 'fd00::2', port: 9090, weight: 1, hostname: 'v6.internal' },
        { ip: '10.0.0.3', port: 8080, weight: 1, hostname: 'svc.internal' },
        { ip: '10.0.0.20', port: 8080, weight: 1, hostname: 'svc.internal' },
      ],
    });
    // One lookup per distinct name, however many endpoints use it.
    expect([...dns.calls].sort()).toEqual(['svc.internal', 'v6.internal']);
    expect([...result.keys()]).toEqual(['a', 'b']);
  });

  it('gives a name that never resolved no endpoints, keeps the rest, and logs it', async () => {
    const dns = fakeDns({});
    const { logger, lines } = recordingLogger();
    const r = make({ lookup: dns.lookup, logger, onChange: () => undefined });
    const result = await r.setConfig(config(backend('a', [{ host: 'gone.internal' }, { host: '10.0.0.1' }]), backend('b', [{ host: 'gone.internal' }])));
    expect(plain(result)).toEqual({ a: [{ ip: '10.0.0.1', port: 8080, weight: 1 }], b: [] });
    expect(lines.some((l) => l.host === 'gone.internal' && /never resolved/.test(l.msg))).toBe(true);
    expect(lines.some((l) => /no resolvable endpoints/.test(l.msg))).toBe(true);
  });

  it('keeps the last known addresses when a lookup fails, empties or times out', async () => {
    const dns = fakeDns({ 'svc.internal': ['10.0.0.1'] });
    const { logger, lines } = recordingLogger();
    const r = make({ lookup: dns.lookup, logger, lookupTimeoutMs: 50, onChange: () => undefined });
    const cfg = config(backend('a', [{ host: 'svc.internal' }]));
    const first = await r.setConfig(cfg);

    dns.table['svc.internal'] = Object.assign(new Error('queryA ETIMEOUT'), { code: 'ETIMEOUT' });
    expect(plain(await r.setConfig(cfg))).toEqual(plain(first));
    dns.table['svc.internal'] = [];
    expect(plain(await r.setConfig(cfg))).toEqual(plain(first));
    dns.lookup.mockImplementationOnce(() => new Promise(() => undefined)); // hangs forever
    expect(plain(await r.setConfig(cfg))).toEqual(plain(first));

    expect(lines.filter((l) => /keeping last known/.test(l.msg))).toHaveLength(3);
  });

  it('forgets names that left the config (a re-added name is looked up afresh)', async () => {
    const dns = fakeDns({ 'svc.internal': ['10.0.0.1'] });
    const r = make({ lookup: dns.lookup, onChange: () => undefined });
    await r.setConfig(config(backend('a', [{ host: 'svc.internal' }])));
    await r.setConfig(config(backend('a', [{ host: '10.0.0.5' }])));
    dns.table['svc.internal'] = new Error('SERVFAIL');
    const result = await r.setConfig(config(backend('a', [{ host: 'svc.internal' }])));
    expect(plain(result)).toEqual({ a: [] });
  });

  it('rejects after close', async () => {
    const r = make({ lookup: fakeDns({}).lookup, onChange: () => undefined });
    r.close();
    await expect(r.setConfig(config())).rejects.toThrow(/closed/);
  });
});

describe('periodic re-resolution', () => {
  it('calls onChange only when the result changed, and never for setConfig itself', async () => {
    vi.useFakeTimers();
    const dns = fakeDns({ 'svc.internal': ['10.0.0.1'] });
    const changes: ResolvedEndpoints[] = [];
    const r = make({ lookup: dns.lookup, intervalMs: 1000, onChange: (e) => changes.push(e) });
    await r.setConfig(config(backend('a', [{ host: 'svc.internal' }])));
    expect(changes).toHaveLength(0);

    await vi.advanceTimersByTimeAsync(1000);
    expect(dns.calls).toHaveLength(2);
    expect(changes).toHaveLength(0); // same answer

    dns.table['svc.internal'] = ['10.0.0.2', '10.0.0.1'];
    await vi.advanceTimersByTimeAsync(1000);
    expect(changes).toHaveLength(1);
    expect(plain(changes[0]!)).toEqual({
      a: [
        { ip: '10.0.0.1', port: 8080, weight: 1, hostname: 'svc.internal' },
        { ip: '10.0.0.2', port: 8080, weight: 1, hostname: 'svc.internal' },
      ],
    });
    expect(r.current()).toBe(changes[0]);

    dns.table['svc.internal'] = ['10.0.0.1', '10.0.0.2']; // same set, other order
    await vi.advanceTimersByTimeAsync(1000);
    dns.table['svc.internal'] = new Error('SERVFAIL'); // a hiccup keeps the last answer
    await vi.advanceTimersByTimeAsync(1000);
    expect(changes).toHaveLength(1);

    dns.table['svc.internal'] = ['10.0.0.3'];
    await vi.advanceTimersByTimeAsync(1000);
    expect(changes).toHaveLength(2);
    expect(plain(changes[1]!).a).toEqual([{ ip: '10.0.0.3', port: 8080, weight: 1, hostname: 'svc.internal' }]);
  });

  it('stops after close and drops a pass still in flight', async () => {
    vi.useFakeTimers();
    let release!: () => void;
    const dns = fakeDns({ 'svc.internal': ['10.0.0.1'] });
    const r = make({ lookup: dns.lookup, intervalMs: 1000, onChange: () => expect.unreachable('onChange after close') });
    await r.setConfig(config(backend('a', [{ host: 'svc.internal' }])));
    dns.lookup.mockImplementationOnce(() => new Promise<string[]>((resolve) => (release = () => resolve(['10.0.0.9']))));
    await vi.advanceTimersByTimeAsync(1000);
    r.close();
    release();
    await vi.advanceTimersByTimeAsync(5000);
    expect(dns.lookup).toHaveBeenCalledTimes(2); // the initial pass and the one close() cut short
  });

  it('never publishes a re-resolution of a config that was replaced meanwhile', async () => {
    vi.useFakeTimers();
    let release!: () => void;
    const dns = fakeDns({ 'old.internal': ['10.0.0.1'], 'new.internal': ['10.0.1.1'] });
    const changes: ResolvedEndpoints[] = [];
    const r = make({ lookup: dns.lookup, intervalMs: 1000, onChange: (e) => changes.push(e) });
    await r.setConfig(config(backend('a', [{ host: 'old.internal' }])));
    dns.lookup.mockImplementationOnce(() => new Promise<string[]>((resolve) => (release = () => resolve(['10.0.0.2']))));
    await vi.advanceTimersByTimeAsync(1000); // periodic pass for the old config is now stuck
    const pending = r.setConfig(config(backend('a', [{ host: 'new.internal' }])));
    release();
    const result = await pending;
    expect(changes).toHaveLength(0);
    expect(plain(result).a).toEqual([{ ip: '10.0.1.1', port: 8080, weight: 1, hostname: 'new.internal' }]);
    expect(r.current()).toBe(result);
  });

  it('survives an onChange that throws', async () => {
    vi.useFakeTimers();
    const dns = fakeDns({ 'svc.internal': ['10.0.0.1'] });
    let calls = 0;
    const r = make({
      lookup: dns.lookup,
      intervalMs: 1000,
      onChange: () => {
        calls++;
        throw new Error('boom');
      },
    });
    await r.setConfig(config(backend('a', [{ host: 'svc.internal' }])));
    dns.table['svc.internal'] = ['10.0.0.2'];
    await vi.advanceTimersByTimeAsync(1000);
    dns.table['svc.internal'] = ['10.0.0.3'];
    await vi.advanceTimersByTimeAsync(1000);
    expect(calls).toBe(2);
  });

  it('does not keep the process alive (timer is unref’d)', async () => {
    const r = make({ lookup: fakeDns({}).lookup, intervalMs: 60_000, onChange: () => undefined });
    const before = process.getActiveResourcesInfo().filter((x) => x === 'Timeout').length;
    await r.setConfig(config(backend('a', [{ host: '10.0.0.1' }])));
    // An unref'd timer is not listed among the resources keeping the loop alive.
    expect(process.getActiveResourcesInfo().filter((x) => x === 'Timeout').length).toBe(before);
  });
});

describe('helpers', () => {
  it('recognises IP literals', () => {
    expect(['10.0.0.1', '::1', '[::1]', 'fe80::1%eth0', '::ffff:10.0.0.1'].every(isIpLiteral)).toBe(true);
    expect(['localhost', 'svc.ns.svc.cluster.local', '10.0.0', '[localhost]'].some(isIpLiteral)).toBe(false);
  });

  it('normalises addresses: dedupe, IPv4 numerically first, then IPv6', () => {
    expect(normalizeAddresses(['fd00::1', '10.0.0.10', '10.0.0.9', '10.0.0.10', '::1', '[::1]'])).toEqual([
      '10.0.0.9',
      '10.0.0.10',
      '::1',
      'fd00::1',
    ]);
  });

  it('compares results structurally', () => {
    const a = new Map([['x', [{ ip: '1.1.1.1', port: 1, weight: 1 }]]]);
    expect(sameResolvedEndpoints(a, new Map([['x', [{ ip: '1.1.1.1', port: 1, weight: 1 }]]]))).toBe(true);
    expect(sameResolvedEndpoints(a, new Map([['x', [{ ip: '1.1.1.1', port: 1, weight: 2 }]]]))).toBe(false);
    expect(sameResolvedEndpoints(a, new Map([['y', [{ ip: '1.1.1.1', port: 1, weight: 1 }]]]))).toBe(false);
    expect(sameResolvedEndpoints(a, new Map([['x', [{ ip: '1.1.1.1', port: 1, weight: 1, hostname: 'h' }]]]))).toBe(false);
  });
});

describe('the system resolver', () => {
  it('resolves "localhost" to loopback addresses', async () => {
    const addresses = await systemLookup('localhost');
    expect(addresses.length).toBeGreaterThan(0);
    for (const a of addresses) expect(['127.0.0.1', '::1']).toContain(a);
  });

  it('is the default lookup', async () => {
    const r = make({ onChange: () => undefined });
    const result = await r.setConfig(config(backend('a', [{ host: 'localhost', port: 80 }])));
    const list = result.get('a')!;
    expect(list.length).toBeGreaterThan(0);
    for (const ep of list) {
      expect(ep.hostname).toBe('localhost');
      expect(isIpLiteral(ep.ip)).toBe(true);
    }
  });
});
