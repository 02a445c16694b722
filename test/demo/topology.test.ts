/**
 * `tether demo` mirrors docker-compose.yml (checked here without Docker or Envoy): the same
 * replicas with the same flags, the same files, the same ports by default; and the copies of
 * the config and the Envoy bootstrap it serves differ from the files only in addresses.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { parseConfigText } from '../../src/config';
import { localBootstrapText, localConfigText } from '../../src/demo/local-copies';
import {
  COMPOSE_PORTS,
  DEMO_ADMIN_TOKEN,
  DEMO_FILES,
  DEMO_LOAD,
  DEMO_REPLICAS,
  DEMO_SCALE_REPLICA,
  DEMO_TETHER_ARGS,
  demoHosts,
  hostsFileText,
  portMap,
  type DemoPorts,
} from '../../src/demo/topology';
import { parseHostsText } from '../../src/resolve/hosts-file';

const ROOT = path.resolve(__dirname, '..', '..');
type Obj = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const compose = parseYaml(fs.readFileSync(path.join(ROOT, 'docker-compose.yml'), 'utf8'), { merge: true }) as Obj;
const read = (file: string) => fs.readFileSync(path.join(ROOT, file), 'utf8');
const argv = (service: string): string[] => (compose.services[service].command as unknown[]).map(String);
const flag = (args: string[], name: string) => args.find((a) => a.startsWith(`${name}=`))?.slice(name.length + 1);
const lastByte = (service: string) => Number(String(compose.services[service].networks.demo.ipv4_address).split('.').pop());

const OTHER_PORTS: DemoPorts = { gateway: 20001, envoyAdmin: 20002, xds: 20003, admin: 20004, extProc: 20005, metrics: 20006, replicaHttp: 20007, replicaGrpc: 20008 };

describe('tether demo mirrors docker-compose.yml', () => {
  it('runs the same replicas, with their compose flags, on 127.0.0.<last byte of their compose address>', () => {
    const composeReplicas = Object.entries(compose.services as Record<string, Obj>)
      .filter(([, s]) => Array.isArray(s.command) && s.command[0] === 'sample' && !s.profiles)
      .map(([name]) => name);
    expect(DEMO_REPLICAS.map((r) => r.name)).toEqual(composeReplicas);
    for (const r of [...DEMO_REPLICAS, DEMO_SCALE_REPLICA]) {
      const args = argv(r.name);
      expect(flag(args, '--id')).toBe(r.name);
      expect(flag(args, '--version')).toBe(r.version);
      expect(Number(flag(args, '--http-port'))).toBe(COMPOSE_PORTS.replicaHttp);
      expect(Number(flag(args, '--grpc-port'))).toBe(COMPOSE_PORTS.replicaGrpc);
      expect(r.addressByte).toBe(lastByte(r.name));
      const known = ['--id', '--version', '--host', '--http-port', '--grpc-port'];
      if (r !== DEMO_SCALE_REPLICA) expect(args.slice(1).filter((a) => !known.includes(a.split('=')[0]!))).toEqual(r.extraArgs);
    }
    expect(compose.services[DEMO_SCALE_REPLICA.name].profiles).toEqual(['scale']);
  });

  it('serves the same files, with the same Tether flags, token, load and ports', () => {
    const tether = argv('tether');
    expect(flag(tether, '--config')).toBe(`/etc/tether/${path.basename(DEMO_FILES.config)}`);
    expect(compose.services.tether.volumes).toContain(`./${path.dirname(DEMO_FILES.config)}:/etc/tether:ro`);
    for (const a of DEMO_TETHER_ARGS) expect(tether).toContain(a);
    expect(String(compose.services.tether.environment.TETHER_ADMIN_TOKEN)).toContain(`:-${DEMO_ADMIN_TOKEN}}`);
    expect(compose.services.tether.ports).toEqual([`127.0.0.1:${COMPOSE_PORTS.xds}:${COMPOSE_PORTS.xds}`, `127.0.0.1:${COMPOSE_PORTS.admin}:${COMPOSE_PORTS.admin}`]);
    expect(compose.services.tether.expose).toEqual([String(COMPOSE_PORTS.extProc)]);

    expect(compose.services.envoy.command).toContain(`/etc/envoy/${path.basename(DEMO_FILES.bootstrap)}`);
    expect(compose.services.envoy.volumes).toContain(`./${path.dirname(DEMO_FILES.bootstrap)}:/etc/envoy:ro`);
    expect(compose.services.envoy.ports).toEqual([`${COMPOSE_PORTS.gateway}:${COMPOSE_PORTS.gateway}`]);
    const bootstrap = parseYaml(read(DEMO_FILES.bootstrap)) as Obj;
    expect(bootstrap.admin.address.socket_address.port_value).toBe(COMPOSE_PORTS.envoyAdmin);

    expect(compose.services.load.entrypoint).toEqual(['node', DEMO_FILES.loadClient]);
    const load = (compose.services.load.command as string[]).map(String);
    expect(flag(load, '--target')).toBe(`http://envoy:${COMPOSE_PORTS.gateway}/`);
    expect([flag(load, '--rps'), flag(load, '--users'), flag(load, '--interval')].map(Number)).toEqual([DEMO_LOAD.rps, DEMO_LOAD.users, DEMO_LOAD.interval]);
  });

  it('its hosts table parses and names every endpoint of the config and every name in the bootstrap', () => {
    const table = parseHostsText(hostsFileText(demoHosts()), 'hosts');
    const config = parseConfigText(read(DEMO_FILES.config), DEMO_FILES.config);
    if (!config.ok) throw new Error('invalid demo config');
    for (const endpoint of config.config.backends.flatMap((b) => b.endpoints)) expect(table.get(endpoint.host), endpoint.host).toBeDefined();
    const bootstrap = parseYaml(read(DEMO_FILES.bootstrap)) as Obj;
    for (const c of bootstrap.static_resources.clusters as Obj[]) {
      expect(table.get(c.load_assignment.endpoints[0].lb_endpoints[0].endpoint.address.socket_address.address)).toEqual(['127.0.0.1']);
    }
    for (const [name, ips] of table) expect(ips[0], name).toMatch(/^127\.0\.0\.\d+$/);
  });
});

describe("the demo's copies differ from the files only in addresses", () => {
  it('config: listeners bind 127.0.0.1 on the gateway port, endpoint names stay with the replica port, the rest is the same text', () => {
    const original = read(DEMO_FILES.config);
    const copy = localConfigText(original, portMap(OTHER_PORTS));
    const parsed = parseConfigText(copy, 'copy');
    if (!parsed.ok) throw new Error(parsed.errors.map((e) => `${e.path}: ${e.message}`).join('\n'));
    expect(parsed.config.listeners.map((l) => [l.address, l.port])).toEqual([['127.0.0.1', OTHER_PORTS.gateway]]);
    const endpoints = parsed.config.backends.flatMap((b) => b.endpoints.map((e) => `${e.host}:${e.port}`));
    expect(endpoints).toEqual(['replica-1', 'replica-2', 'replica-3', 'candidate-1', 'shadow-1'].map((n) => `${n}:${OTHER_PORTS.replicaHttp}`));
    // Undo the ports and the added address lines: the file's own text, byte for byte.
    const undone = copy
      .replaceAll(`:${OTHER_PORTS.replicaHttp}"`, `:${COMPOSE_PORTS.replicaHttp}"`)
      .replace(`port: ${OTHER_PORTS.gateway}`, `port: ${COMPOSE_PORTS.gateway}`)
      .replace(/\n +address: 127\.0\.0\.1(?=\n)/, '');
    expect(undone).toBe(original);
  });

  it('config: compose ports map to themselves (only the bind address changes); text that is not YAML stays as is for Tether to report', () => {
    const original = read(DEMO_FILES.config);
    const copy = localConfigText(original, portMap(COMPOSE_PORTS));
    expect(copy.split('\n').length).toBe(original.split('\n').length + 1);
    expect(copy).toContain(`    port: ${COMPOSE_PORTS.gateway}\n    address: 127.0.0.1\n`);
    expect(localConfigText('listeners: [', portMap(OTHER_PORTS))).toBe('listeners: [');
    // Flow-style listeners get the address inside the braces.
    expect(localConfigText('listeners:\n  - { name: http, port: 10000 }\n', portMap(OTHER_PORTS))).toBe(`listeners:\n  - { name: http, port: ${OTHER_PORTS.gateway}, address: 127.0.0.1 }\n`);
  });

  it("bootstrap: Tether's name becomes 127.0.0.1, ports follow the flags, nothing else changes", () => {
    const original = parseYaml(read(DEMO_FILES.bootstrap)) as Obj;
    const copy = parseYaml(localBootstrapText(read(DEMO_FILES.bootstrap), demoHosts(), portMap(OTHER_PORTS))) as Obj;
    const socket = (b: Obj, cluster: string) =>
      (b.static_resources.clusters as Obj[]).find((c) => c.name === cluster)!.load_assignment.endpoints[0].lb_endpoints[0].endpoint.address.socket_address;
    expect(socket(copy, 'tether-xds')).toEqual({ address: '127.0.0.1', port_value: OTHER_PORTS.xds });
    expect(socket(copy, 'tether-extproc')).toEqual({ address: '127.0.0.1', port_value: OTHER_PORTS.extProc });
    expect(copy.admin.address.socket_address).toEqual({ address: '127.0.0.1', port_value: OTHER_PORTS.envoyAdmin });
    Object.assign(socket(copy, 'tether-xds'), socket(original, 'tether-xds'));
    Object.assign(socket(copy, 'tether-extproc'), socket(original, 'tether-extproc'));
    copy.admin.address.socket_address.port_value = original.admin.address.socket_address.port_value;
    expect(copy).toEqual(original);
  });
});
