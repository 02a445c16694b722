/**
 * docker-compose.yml checked without Docker (runs in CI): it parses; every file and directory
 * it refers to exists (build contexts, Dockerfiles, bind mounts, env files, and files a command
 * names inside a mount or the image); the Tether config it serves is valid; images are pinned;
 * published ports and fixed addresses do not collide; and the pieces agree with each other
 * (Envoy's bootstrap points at the Tether service and ports, endpoints name compose services),
 * and what Tether would send Envoy for it passes the conformance checks of test/conformance.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { parseConfigText } from '../../src/config';
import { NODE_KINDS, translate } from '../../src/translate';
import type { ResolvedEndpoint } from '../../src/translate';
import { conformanceProblems } from '../conformance/check-resources';

const ROOT = path.resolve(__dirname, '..', '..');
const COMPOSE_FILE = path.join(ROOT, 'docker-compose.yml');

type Obj = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const compose = parseYaml(fs.readFileSync(COMPOSE_FILE, 'utf8'), { merge: true }) as Obj;
const services = Object.entries((compose.services ?? {}) as Record<string, Obj>);

/** `${VAR:-default}` → default (the value the demo runs with when VAR is unset). */
function interpolate(s: string): string {
  return s.replace(/\$\{([A-Z0-9_]+)(?::?-([^}]*))?\}/g, (_m, _name: string, fallback?: string) => fallback ?? '');
}

function words(value: unknown): string[] {
  if (value === undefined || value === null) return [];
  return Array.isArray(value) ? value.map(String) : String(value).split(/\s+/);
}

interface Mount {
  source: string; // absolute host path
  target: string;
}

function bindMounts(service: Obj): Mount[] {
  const mounts: Mount[] = [];
  for (const v of (service.volumes ?? []) as unknown[]) {
    if (typeof v === 'string') {
      const [source, target] = interpolate(v).split(':');
      if (source && target && (source.startsWith('.') || source.startsWith('/'))) mounts.push({ source: path.resolve(ROOT, source), target });
    } else if (v && typeof v === 'object' && (v as Obj).type === 'bind') {
      mounts.push({ source: path.resolve(ROOT, (v as Obj).source), target: (v as Obj).target });
    }
  }
  return mounts;
}

/** A container path → the host file behind it, through the service's bind mounts. */
function hostPathOf(service: Obj, containerPath: string): string | undefined {
  for (const m of bindMounts(service)) {
    if (containerPath === m.target) return m.source;
    if (containerPath.startsWith(`${m.target}/`)) return path.join(m.source, containerPath.slice(m.target.length + 1));
  }
  return undefined;
}

/** `--flag=value`, `--flag value` or `-c value` from a command line. */
function flag(argv: string[], ...names: string[]): string | undefined {
  for (let i = 0; i < argv.length; i++) {
    for (const n of names) {
      if (argv[i] === n) return argv[i + 1];
      if (argv[i]!.startsWith(`${n}=`)) return argv[i]!.slice(n.length + 1);
    }
  }
  return undefined;
}

function buildContext(service: Obj): string | undefined {
  const build = service.build;
  if (build === undefined) return undefined;
  return path.resolve(ROOT, typeof build === 'string' ? build : (build.context ?? '.'));
}

function dockerignore(context: string): string[] {
  const file = path.join(context, '.dockerignore');
  if (!fs.existsSync(file)) return [];
  return fs
    .readFileSync(file, 'utf8')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'));
}

/** Simple .dockerignore matching: exact paths, directory prefixes and `*.ext`. */
function ignored(patterns: string[], relative: string): boolean {
  return patterns.some((p) => {
    const pattern = p.replace(/^\/+|\/+$/g, '');
    if (pattern.startsWith('*.')) return relative.endsWith(pattern.slice(1));
    return relative === pattern || relative.startsWith(`${pattern}/`);
  });
}

const tether = compose.services?.tether as Obj;
const tetherArgv = words(tether?.command);
const envoy = compose.services?.envoy as Obj;
const envoyArgv = words(envoy?.command);

describe('docker-compose.yml (static)', () => {
  it('parses, has a project name and the demo services', () => {
    expect(typeof compose.name).toBe('string');
    expect(Object.keys(compose.services)).toEqual(
      expect.arrayContaining(['tether', 'envoy', 'replica-1', 'replica-2', 'replica-3', 'candidate-1', 'shadow-1', 'load']),
    );
  });

  it.each(services)('%s: every file and directory it refers to exists', (_name, service) => {
    const context = buildContext(service);
    if (context) {
      expect(fs.statSync(context).isDirectory(), context).toBe(true);
      const dockerfile = path.join(context, (typeof service.build === 'object' && service.build.dockerfile) || 'Dockerfile');
      expect(fs.existsSync(dockerfile), dockerfile).toBe(true);
    }
    for (const m of bindMounts(service)) expect(fs.existsSync(m.source), `bind mount ${m.source}`).toBe(true);
    for (const f of words(service.env_file)) expect(fs.existsSync(path.resolve(ROOT, f)), `env_file ${f}`).toBe(true);
    // Absolute paths in the command that live in a bind mount: the file behind them.
    for (const word of [...words(service.entrypoint), ...words(service.command)]) {
      const value = word.includes('=') ? word.slice(word.indexOf('=') + 1) : word;
      if (!value.startsWith('/')) continue;
      const host = hostPathOf(service, value);
      if (host) expect(fs.existsSync(host), `${value} (→ ${host})`).toBe(true);
    }
    // Relative script paths run from the image's WORKDIR (a copy of the build context), unless built there.
    if (context) {
      const patterns = dockerignore(context);
      for (const word of words(service.entrypoint)) {
        if (!/\.(m?js|ts)$/.test(word) || word.startsWith('dist/') || word.startsWith('/')) continue;
        expect(fs.existsSync(path.join(context, word)), word).toBe(true);
        expect(ignored(patterns, word), `${word} is excluded by .dockerignore`).toBe(false);
      }
    }
  });

  it('the build context keeps what the Dockerfile needs (.dockerignore)', () => {
    const patterns = dockerignore(ROOT);
    for (const needed of ['package.json', 'package-lock.json', 'tsconfig.json', 'scripts/gen-types.sh', 'src/cli/main.ts', 'protos', 'deploy/load-client.mjs']) {
      expect(fs.existsSync(path.join(ROOT, needed)), needed).toBe(true);
      expect(ignored(patterns, needed), `${needed} is excluded by .dockerignore`).toBe(false);
    }
    expect(ignored(patterns, 'node_modules')).toBe(true);
    expect(ignored(patterns, '.tether')).toBe(true);
  });

  it('pins every image (compose and Dockerfile): a tag or digest, never latest', () => {
    const images = services.filter(([, s]) => s.image !== undefined).map(([, s]) => String(s.image));
    const dockerfile = fs.readFileSync(path.join(ROOT, 'Dockerfile'), 'utf8');
    const bases = [...dockerfile.matchAll(/^FROM\s+(?:--\S+\s+)*(\S+)/gim)].map((m) => m[1]!);
    for (const image of [...images, ...bases]) {
      const digest = image.includes('@sha256:');
      const tag = image.slice(image.lastIndexOf('/') + 1).split(':')[1];
      expect(digest || (tag !== undefined && tag !== 'latest'), `${image} is not pinned`).toBe(true);
    }
    const envoyImage = /^envoyproxy\/envoy:v(\d+)\.(\d+)\.(\d+)$/.exec(String(envoy.image));
    expect(envoyImage, `envoy image ${envoy.image}`).not.toBeNull();
    expect(Number(envoyImage![1]) * 1000 + Number(envoyImage![2]), 'Envoy 1.36 or later').toBeGreaterThanOrEqual(1036);
  });

  it('published ports and fixed addresses do not collide', () => {
    const published = new Map<string, string>();
    for (const [name, s] of services) {
      for (const p of (s.ports ?? []) as unknown[]) {
        let hostIp = '0.0.0.0';
        let hostPort: string;
        if (typeof p === 'object' && p !== null) {
          hostIp = (p as Obj).host_ip ?? hostIp;
          hostPort = String((p as Obj).published);
        } else {
          const parts = String(p).split(':');
          expect(parts.length, `${name}: publish ${String(p)} with an explicit host port`).toBeGreaterThanOrEqual(2);
          if (parts.length === 3) hostIp = parts[0]!;
          hostPort = parts[parts.length - 2]!;
        }
        for (const [key, owner] of published) {
          const [ip, port] = key.split(' ');
          const overlap = port === hostPort && (ip === hostIp || ip === '0.0.0.0' || hostIp === '0.0.0.0');
          expect(overlap, `${name} and ${owner} both publish ${hostIp}:${hostPort}`).toBe(false);
        }
        published.set(`${hostIp} ${hostPort}`, name);
      }
    }
    const addresses = new Map<string, string>();
    const subnet = String(compose.networks?.demo?.ipam?.config?.[0]?.subnet ?? '');
    const prefix = subnet.split('.').slice(0, 3).join('.');
    expect(subnet, 'the demo network has a /24 subnet').toMatch(/^\d+\.\d+\.\d+\.0\/24$/);
    for (const [name, s] of services) {
      for (const network of Object.values((s.networks ?? {}) as Record<string, Obj | null>)) {
        const ip = network?.ipv4_address;
        if (!ip) continue;
        expect(addresses.get(ip), `${name} and ${addresses.get(ip)} share ${ip}`).toBeUndefined();
        expect(ip.startsWith(`${prefix}.`), `${name}: ${ip} outside ${subnet}`).toBe(true);
        addresses.set(ip, name);
      }
    }
  });

  it('depends_on names services that exist', () => {
    for (const [name, s] of services) {
      const deps = Array.isArray(s.depends_on) ? s.depends_on : Object.keys(s.depends_on ?? {});
      for (const d of deps) expect(compose.services[d], `${name} depends on ${d}`).toBeDefined();
    }
  });

  it('serves a Tether config that validates with zero errors, over backends that are compose services', () => {
    const configPath = flag(tetherArgv, '--config', '-c');
    expect(configPath, 'tether is started with --config').toBeDefined();
    const host = hostPathOf(tether, configPath!);
    expect(host, `${configPath} comes from a bind mount`).toBeDefined();
    const result = parseConfigText(fs.readFileSync(host!, 'utf8'), host);
    expect(result.ok ? [] : result.errors.map((e) => `${e.path}: ${e.message}`)).toEqual([]);
    if (!result.ok) return;
    for (const backend of result.config.backends) {
      for (const endpoint of backend.endpoints) {
        const h = endpoint.host;
        const isIp = /^[\d.]+$/.test(h) || h.includes(':');
        expect(isIp || compose.services[h] !== undefined, `${backend.name}: ${h} is not a compose service`).toBe(true);
      }
    }
    // The demo's ext_proc service: Envoy's filter names the bootstrap's tether-extproc cluster
    // (checked below), served by `tether serve` on its default port.
    expect(result.config.services.some((svc) => svc.affinity?.sessionKey)).toBe(true);
    expect(result.config.extProc?.cluster).toBe('tether-extproc');
    expect(result.config.extProc?.address).toBeUndefined();
    expect(tetherArgv).not.toContain('--no-ext-proc');
    expect(flag(tetherArgv, '--ext-proc-port') ?? '18002').toBe('18002');
    // Envoy publishes the port of the config's listener.
    const listenerPorts = result.config.listeners.map((l) => l.port);
    for (const p of words(envoy.ports)) expect(listenerPorts).toContain(Number(p.split(':').at(-1)));
  });

  it('what Tether sends for that config encodes, round-trips and passes Envoy\'s PGV rules', () => {
    const host = hostPathOf(tether, flag(tetherArgv, '--config', '-c') ?? '')!;
    const result = parseConfigText(fs.readFileSync(host, 'utf8'), host);
    if (!result.ok) throw new Error('invalid config (see the test above)');
    // Resolve the compose service names the way Docker's DNS will: to their fixed addresses.
    const endpoints = new Map<string, ResolvedEndpoint[]>();
    for (const backend of result.config.backends) {
      endpoints.set(
        backend.name,
        backend.endpoints.map((e) => {
          const ip = (compose.services[e.host]?.networks?.demo?.ipv4_address as string | undefined) ?? e.host;
          return { ip, port: e.port, weight: e.weight, hostname: e.host };
        }),
      );
    }
    for (const kind of NODE_KINDS) expect(conformanceProblems(translate(result.config, endpoints, kind)), kind).toEqual([]);
  });

  it('tether: admin API reachable in the network with a fixed demo token; ext_proc port exposed', () => {
    expect(flag(tetherArgv, '--admin-host')).toBe('0.0.0.0');
    expect(interpolate(String(tether.environment?.TETHER_ADMIN_TOKEN ?? ''))).not.toBe('');
    expect(words(tether.expose)).toContain('18002');
  });

  it("envoy runs a bootstrap from envoy/ that points at the tether service's xDS and ext_proc ports", () => {
    const bootstrapPath = flag(envoyArgv, '-c', '--config-path');
    const host = hostPathOf(envoy, bootstrapPath ?? '');
    expect(host && path.dirname(host), `${bootstrapPath} comes from envoy/`).toBe(path.join(ROOT, 'envoy'));
    const bootstrap = parseYaml(fs.readFileSync(host!, 'utf8')) as Obj;
    const targets = (bootstrap.static_resources.clusters as Obj[]).map((c) => {
      const socket = c.load_assignment.endpoints[0].lb_endpoints[0].endpoint.address.socket_address;
      return `${c.name} → ${socket.address}:${socket.port_value}`;
    });
    expect(targets.sort()).toEqual(['tether-extproc → tether:18002', 'tether-xds → tether:18000']);
    const xdsPort = Number(flag(tetherArgv, '--xds-port') ?? 18000);
    expect(xdsPort).toBe(18000);
  });

  it('the self-registering replica reaches the admin API with the same token', () => {
    const r4 = compose.services['replica-4'] as Obj;
    const argv = words(r4.command);
    expect(flag(argv, '--register-backend')).toBe('demo-v1');
    expect(flag(argv, '--admin')).toBe(`tether:${Number(flag(tetherArgv, '--admin-port') ?? 18001)}`);
    expect(interpolate(String(r4.environment?.TETHER_ADMIN_TOKEN))).toBe(interpolate(String(tether.environment?.TETHER_ADMIN_TOKEN)));
  });
});
