/**
 * docker-compose.ha.yml (three Tether instances on a three-member etcd, an override of
 * docker-compose.yml) checked without Docker: it parses; images are pinned; every etcd member
 * the instances' --store names is a service of it; instance names are unique; fixed addresses do
 * not collide with the base file's; the config the new instances serve exists in their mount;
 * and Envoy's envoy/gateway-ha.yaml lists exactly the instances' names and ports.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { parseEtcdUrl } from '../../src/store/etcd-connection';

type Obj = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
const ROOT = path.resolve(__dirname, '..', '..');
const read = (file: string) => parseYaml(fs.readFileSync(path.join(ROOT, file), 'utf8'), { merge: true }) as Obj;
const base = read('docker-compose.yml');
const ha = read('docker-compose.ha.yml');
const haServices = ha.services as Record<string, Obj>;

function addresses(services: Record<string, Obj>): string[] {
  return Object.values(services).flatMap((s) => Object.values((s.networks ?? {}) as Record<string, Obj>).map((n) => n?.ipv4_address).filter(Boolean));
}

describe('docker-compose.ha.yml', () => {
  const instances = Object.entries(haServices).filter(([name]) => name === 'tether' || /^tether-\d$/.test(name));

  it('runs three instances on one etcd store, each with its own name', () => {
    expect(instances.map(([n]) => n).sort()).toEqual(['tether', 'tether-2', 'tether-3']);
    const names = instances.map(([, s]) => s.environment?.TETHER_INSTANCE_NAME ?? (s.command as string[]).find((w) => w.startsWith('--instance-name='))?.split('=')[1]);
    expect(new Set(names).size).toBe(3);
    for (const [, s] of instances) {
      const target = parseEtcdUrl(s.environment.TETHER_STORE as string);
      for (const endpoint of target.endpoints) {
        const host = endpoint.split(':')[0]!;
        expect(Object.keys(haServices)).toContain(host);
        expect(haServices[host]!.image).toMatch(/:v\d+\.\d+\.\d+$/);
        expect(s.depends_on[host]).toEqual({ condition: 'service_healthy' });
      }
    }
  });

  it('fixed addresses stay unique across both files; the new instances serve a config that exists', () => {
    const merged = { ...base.services, ...Object.fromEntries(Object.entries(haServices).filter(([n]) => !(n in base.services))) };
    const all = addresses(merged as Record<string, Obj>);
    expect(new Set(all).size).toBe(all.length);
    for (const name of ['tether-2', 'tether-3']) {
      const config = (haServices[name]!.command as string[]).find((w) => w.startsWith('--config='))!.split('=')[1]!;
      expect(fs.existsSync(path.join(ROOT, 'deploy', path.basename(config)))).toBe(true);
      expect(haServices[name]!.volumes).toContain('./deploy:/etc/tether:ro');
    }
  });

  it("Envoy's gateway-ha.yaml lists every instance by a name compose gives it", () => {
    const command = haServices.envoy!.command as string[];
    const file = command[command.indexOf('-c') + 1]!;
    expect(file).toBe('/etc/envoy/gateway-ha.yaml');
    const bootstrap = read('envoy/gateway-ha.yaml');
    const xds = (bootstrap.static_resources.clusters as Obj[]).find((c) => c.name === 'tether-xds')!;
    const hosts = (xds.load_assignment.endpoints[0].lb_endpoints as Obj[]).map((e) => `${e.endpoint.address.socket_address.address}:${e.endpoint.address.socket_address.port_value}`);
    expect(hosts).toEqual(['tether-1:18000', 'tether-2:18000', 'tether-3:18000']);
    const names = new Set(instances.flatMap(([n, s]) => [n, ...((s.networks?.demo?.aliases as string[]) ?? [])]));
    for (const h of hosts) expect(names.has(h.split(':')[0]!)).toBe(true);
  });
});
