/**
 * docker-compose.yml's topology as local processes. The compose services, their commands and
 * the files they read are mirrored here; test/demo/topology.test.ts checks the two agree.
 *
 * Addresses. In compose every container has its own IP on 172.31.213.0/24 and its own ports;
 * your machine reaches Envoy (:10000) and Tether (:18000, :18001) through ports published on
 * 127.0.0.1. Locally:
 *   - tether and envoy listen on 127.0.0.1, where compose publishes them, so the URLs and the
 *     CLI's default admin address are the same with and without Docker;
 *   - each replica listens on 127.0.0.<last byte of its compose address> (replica-1 on
 *     172.31.213.101 → 127.0.0.101). Distinct loopback addresses let every replica use the
 *     same ports as in compose (8080 HTTP, 9090 gRPC), so the config's endpoints (replica-1:8080)
 *     stay as they are.
 * A hosts table maps the compose names to those addresses; Tether reads it with --hosts-file.
 */

export interface DemoReplica {
  /** Compose service name: also the replica id and the DNS name endpoints use. */
  name: string;
  version: string;
  /** Last byte of its fixed compose address (172.31.213.N) → 127.0.0.N locally. */
  addressByte: number;
  /** Backend it serves in deploy/compose-config.yaml (for the start-up table). */
  backend: string;
  /** Extra `tether sample` flags (as in docker-compose.yml). */
  extraArgs: readonly string[];
}

export const DEMO_REPLICAS: readonly DemoReplica[] = [
  { name: 'replica-1', version: 'v1', addressByte: 101, backend: 'demo-v1', extraArgs: [] },
  { name: 'replica-2', version: 'v1', addressByte: 102, backend: 'demo-v1', extraArgs: [] },
  { name: 'replica-3', version: 'v1', addressByte: 103, backend: 'demo-v1', extraArgs: [] },
  { name: 'candidate-1', version: 'v2', addressByte: 111, backend: 'demo-v2', extraArgs: [] },
  { name: 'shadow-1', version: 'v2-shadow', addressByte: 121, backend: 'demo-shadow', extraArgs: ['--log-level=debug'] },
];

/**
 * The scale-out replica (compose profile `scale`): not started by `tether demo`, but its name
 * is in the hosts table so it can register itself by name (`--advertise replica-4:8080`).
 */
export const DEMO_SCALE_REPLICA: DemoReplica = { name: 'replica-4', version: 'v1', addressByte: 104, backend: 'demo-v1', extraArgs: [] };

/** Names that resolve to 127.0.0.1 locally (compose publishes their ports there). */
export const DEMO_HOST_SERVICES = ['tether', 'envoy'] as const;

/** Tether's `serve` flags from docker-compose.yml that mean the same locally. */
export const DEMO_TETHER_ARGS = ['--resolve-interval=5s'] as const;

/** docker-compose.yml's `load` command, apart from the target. */
export const DEMO_LOAD = { rps: 10, users: 50, interval: 5 } as const;

/** The demo's admin token (`${TETHER_ADMIN_TOKEN:-tether-demo-token}` in docker-compose.yml). */
export const DEMO_ADMIN_TOKEN = 'tether-demo-token';

/** Files docker-compose.yml mounts, relative to the package root. */
export const DEMO_FILES = {
  config: 'deploy/compose-config.yaml',
  bootstrap: 'envoy/gateway.yaml',
  loadClient: 'deploy/load-client.mjs',
} as const;

/** Every port the demo listens on; the defaults are docker-compose.yml's. */
export interface DemoPorts {
  /** Envoy's listener (the config's listener `http`). */
  gateway: number;
  /** Envoy's admin (envoy/gateway.yaml). */
  envoyAdmin: number;
  xds: number;
  admin: number;
  extProc: number;
  metrics: number;
  /** Each replica's HTTP port (the config's endpoints) and gRPC port. */
  replicaHttp: number;
  replicaGrpc: number;
}

export const COMPOSE_PORTS: DemoPorts = {
  gateway: 10000,
  envoyAdmin: 9901,
  xds: 18000,
  admin: 18001,
  extProc: 18002,
  metrics: 18003,
  replicaHttp: 8080,
  replicaGrpc: 9090,
};

export const LOOPBACK = '127.0.0.1';

export function replicaAddress(replica: DemoReplica): string {
  return `127.0.0.${replica.addressByte}`;
}

/** Compose name → local address, for Tether (--hosts-file) and the bootstrap copy. */
export function demoHosts(): Map<string, string> {
  const hosts = new Map<string, string>();
  for (const name of DEMO_HOST_SERVICES) hosts.set(name, LOOPBACK);
  for (const r of [...DEMO_REPLICAS, DEMO_SCALE_REPLICA]) hosts.set(r.name, replicaAddress(r));
  return hosts;
}

/** The hosts table as a hosts(5) file. */
export function hostsFileText(hosts: ReadonlyMap<string, string>): string {
  const lines = ['# Written by `tether demo`: docker-compose.yml service names → local addresses.'];
  for (const [name, ip] of hosts) lines.push(`${ip} ${name}`);
  return `${lines.join('\n')}\n`;
}

/**
 * Compose port → local port, for the copies of the config and the bootstrap: a port that is
 * not overridden maps to itself.
 */
export function portMap(ports: DemoPorts): Map<number, number> {
  const map = new Map<number, number>();
  for (const key of Object.keys(COMPOSE_PORTS) as (keyof DemoPorts)[]) map.set(COMPOSE_PORTS[key], ports[key]);
  return map;
}
