/**
 * Static name overrides (`tether serve --hosts-file`): parsing with every error at its line,
 * lookups that prefer the table and fall back to DNS, and one lookup for what is served and
 * what Explain reports (the admin API used to resolve names through the system's DNS only).
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createAdminClient } from '../../src/cli/admin-client';
import type { TetherConfig } from '../../src/model/types';
import { HostsFileError, hostsLookup, parseHostsText, readHostsFile } from '../../src/resolve/hosts-file';
import { createEndpointResolver } from '../../src/resolve/resolver';
import { ADMIN_TOKEN, Harness } from '../support/harness';
import { makeTempDir, removeTempDir } from '../support/temp-dir';
import { BIN, hasBuild } from '../cli/harness';

const dir = makeTempDir('hosts');
afterAll(() => removeTempDir(dir));

describe('hosts file', () => {
  it('maps names (and aliases) to addresses; comments and blank lines are ignored; names are case-insensitive', () => {
    const table = parseHostsText(
      ['# demo', '127.0.0.101 replica-1 r1   # first', '', '127.0.0.102\treplica-2', '10.0.0.9 replica-2', '::1 Six.Local'].join('\n'),
      'hosts',
    );
    expect(Object.fromEntries(table)).toEqual({ 'replica-1': ['127.0.0.101'], r1: ['127.0.0.101'], 'replica-2': ['10.0.0.9', '127.0.0.102'], 'six.local': ['::1'] });
  });

  it('reports every bad line with its file and line number, and accepts nothing then', () => {
    const text = ['127.0.0.1 tether', '127.0.0.300 replica-1', '127.0.0.2', '127.0.0.3 bad_name ok-name'].join('\n');
    let error: unknown;
    try {
      parseHostsText(text, 'demo/hosts');
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(HostsFileError);
    expect((error as Error).message.split('\n')).toEqual([
      "demo/hosts:2: '127.0.0.300' is not an IP address",
      'demo/hosts:3: no name after 127.0.0.2',
      "demo/hosts:4: 'bad_name' is not a valid DNS name",
    ]);
    expect(() => readHostsFile(path.join(dir, 'missing'))).toThrow(/cannot read hosts file .*missing/);
  });

  it('answers names in the table from it and every other name from the fallback', async () => {
    const asked: string[] = [];
    const lookup = hostsLookup(parseHostsText('127.0.0.101 replica-1', 'hosts'), async (host) => {
      asked.push(host);
      return ['192.0.2.1'];
    });
    expect(await lookup('REPLICA-1')).toEqual(['127.0.0.101']);
    expect(await lookup('elsewhere.example')).toEqual(['192.0.2.1']);
    expect(asked).toEqual(['elsewhere.example']);
  });

  it('gives the resolver the addresses of the table, names kept as hostnames', async () => {
    const config: TetherConfig = {
      listeners: [],
      services: [],
      backends: [{ name: 'b', endpoints: [{ host: 'replica-1', port: 8080, weight: 1, drain: false }], balancer: { type: 'round_robin' }, connectTimeoutMs: 1000, protocol: 'http1' }],
    };
    const resolver = createEndpointResolver({ lookup: hostsLookup(parseHostsText('127.0.0.101 replica-1', 'hosts'), async () => []), onChange: () => undefined });
    try {
      expect([...(await resolver.setConfig(config)).get('b')!]).toEqual([{ ip: '127.0.0.101', port: 8080, weight: 1, hostname: 'replica-1' }]);
    } finally {
      resolver.close();
    }
  });
});

describe('one lookup for serving and explaining', () => {
  const h = new Harness();
  afterAll(() => h.close());

  it('Explain names the address the hosts table gives a name (as served), not the system DNS answer', async () => {
    // `.invalid` never resolves through DNS (RFC 6761): only the table knows these names.
    const table = parseHostsText('10.9.8.7 app-1.tether.invalid\n10.9.8.8 app-2.tether.invalid', 'hosts');
    await h.start(
      {
        listeners: [{ name: 'http', port: 10000, address: '127.0.0.1' }],
        services: [{ name: 'app', affinity: { keys: [{ header: 'x-user' }] }, routes: [{ backends: [{ name: 'app-v1' }] }] }],
        backends: [{ name: 'app-v1', endpoints: ['app-1.tether.invalid:8080', 'app-2.tether.invalid:8080'] }],
      },
      { lookup: hostsLookup(table, async () => []) },
    );
    const client = createAdminClient({ address: `127.0.0.1:${h.tether.adminPort}`, token: ADMIN_TOKEN });
    try {
      const res = await client.call('Explain', { service: 'app', headers: [{ name: 'x-user', value: 'alice' }] });
      expect(res.pick?.address).toMatch(/^10\.9\.8\.[78]:8080$/);
      expect(res.predictable).toBe(true);
    } finally {
      client.close();
    }
  });
});

describe.skipIf(!hasBuild)('tether serve --hosts-file', () => {
  it('refuses to start on a bad hosts file, naming the file and line', () => {
    const hosts = path.join(dir, 'bad-hosts');
    fs.writeFileSync(hosts, '127.0.0.1 tether\nnot-an-ip replica-1\n');
    const run = spawnSync(process.execPath, [BIN, 'serve', '--hosts-file', hosts, '--data-dir', path.join(dir, 'data'), '--xds-host', '127.0.0.1', '--xds-port', '0', '--admin-port', '0', '--no-metrics', '--no-ext-proc'], {
      encoding: 'utf8',
      timeout: 20_000,
      cwd: dir,
    });
    expect(run.status).toBe(1);
    expect(run.stderr).toContain(`tether: ${hosts}:2: 'not-an-ip' is not an IP address`);
  });
});
