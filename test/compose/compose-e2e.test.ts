/**
 * The docs/demo.md walkthrough against the real stack (docker-compose.yml): Envoy 1.36 driven
 * by Tether, sample replicas behind it. Runs only where a Docker engine answers `docker info`
 * (with the compose plugin); elsewhere it skips with a message.
 *
 * It uses the compose project itself (name `tether-demo`, host port 10000): a demo already
 * running is rebuilt, reset and, at the end, taken down (TETHER_E2E_KEEP=1 leaves it up).
 */
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import * as http from 'node:http';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const ROOT = path.resolve(__dirname, '..', '..');
const ENVOY = 'http://127.0.0.1:10000/';
const SKIP_MESSAGE = 'no Docker engine: skipping compose end-to-end tests';

function run(command: string, args: string[], timeoutMs: number): SpawnSyncReturns<string> {
  return spawnSync(command, args, { cwd: ROOT, encoding: 'utf8', timeout: timeoutMs });
}

const dockerReady = run('docker', ['info'], 20_000).status === 0 && run('docker', ['compose', 'version'], 20_000).status === 0;
if (!dockerReady) console.warn(SKIP_MESSAGE);

/** `docker compose …`; throws with its output when it fails. */
function compose(args: string[], timeoutMs = 120_000): string {
  const result = run('docker', ['compose', ...args], timeoutMs);
  if (result.status !== 0) {
    throw new Error(`docker compose ${args.join(' ')} failed (${result.status ?? result.signal}):\n${result.stdout}\n${result.stderr}`);
  }
  return result.stdout;
}

/** The tether CLI inside the tether container (its environment holds the admin token). */
function tether(...args: string[]): string {
  return compose(['exec', '-T', 'tether', 'tether', ...args], 60_000);
}

interface Reply {
  status: number;
  version: string | null;
  replica: string | null;
  setCookies: string[];
}

/**
 * One GET through Envoy. node:http rather than fetch(): fetch drops a Host header, and the
 * demo tells its services apart by Host (ip.demo.local, strong.demo.local).
 */
function get(headers: Record<string, string> = {}, target = '/'): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = http.get(new URL(target, ENVOY), { headers, timeout: 5_000 }, (res) => {
      res.resume();
      res.on('end', () => {
        const one = (name: string) => {
          const v = res.headers[name];
          return Array.isArray(v) ? v.join(', ') : (v ?? null);
        };
        resolve({ status: res.statusCode ?? 0, version: one('version'), replica: one('x-replica'), setCookies: res.headers['set-cookie'] ?? [] });
      });
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`GET ${target}: no answer within 5 s`)));
    req.on('error', reject);
  });
}

/** Share of `version: v2` among n requests from n different users on the default route. */
async function v2Share(n: number, tag: string): Promise<number> {
  let v2 = 0;
  for (let i = 0; i < n; i++) {
    const reply = await get({ 'x-user': `${tag}-${i}` });
    expect(reply.status).toBe(200);
    if (reply.version === 'v2') v2++;
  }
  return v2 / n;
}

/** Apply a traffic change and wait until every node (Envoy) has applied it. */
function shift(...args: string[]): void {
  tether(...args);
  tether('wait', '--timeout', '30s');
}

describe.runIf(dockerReady)('compose end-to-end (docs/demo.md)', () => {
  beforeAll(async () => {
    compose(['--profile', 'scale', 'down', '--volumes', '--remove-orphans'], 120_000);
    compose(['up', '--detach', '--build', '--wait'], 15 * 60_000);
    // Envoy answers once it has listeners, routes, clusters and endpoints from Tether.
    const deadline = Date.now() + 120_000;
    let last = 'no reply';
    while (Date.now() < deadline) {
      try {
        const reply = await get({ 'x-user': 'probe' });
        if (reply.status === 200 && reply.version === 'v1') return;
        last = `status ${reply.status}, version ${reply.version}`;
      } catch (err) {
        last = (err as Error).message;
      }
      await new Promise((r) => setTimeout(r, 1_000));
    }
    throw new Error(`Envoy did not serve the demo within 120 s (${last}):\n${compose(['logs', '--tail=40', 'tether', 'envoy'])}`);
  }, 20 * 60_000);

  afterAll(() => {
    if (process.env.TETHER_E2E_KEEP !== '1') compose(['--profile', 'scale', 'down', '--volumes', '--remove-orphans'], 120_000);
  }, 180_000);

  it('header stickiness: each x-user keeps its replica, and users spread over replicas', async () => {
    const replicas = new Set<string>();
    for (let u = 0; u < 20; u++) {
      const seen = new Set<string>();
      for (let i = 0; i < 5; i++) {
        const reply = await get({ 'x-user': `alice-${u}` });
        expect(reply.status).toBe(200);
        expect(reply.version).toBe('v1');
        seen.add(reply.replica!);
      }
      expect([...seen], `alice-${u}`).toHaveLength(1);
      replicas.add([...seen][0]!);
    }
    expect(replicas.size).toBeGreaterThan(1);
  }, 60_000);

  it('cookie stickiness: Envoy generates tether-session, and the cookie keeps the replica', async () => {
    const first = await get();
    expect(first.status).toBe(200);
    const cookie = first.setCookies.find((c) => c.startsWith('tether-session='));
    expect(cookie, `set-cookie: ${first.setCookies.join(' | ')}`).toBeDefined();
    expect(cookie).toMatch(/Max-Age=3600/i);
    const pair = cookie!.split(';')[0]!;
    for (let i = 0; i < 5; i++) {
      const reply = await get({ cookie: pair });
      expect(reply.replica).toBe(first.replica);
      expect(reply.setCookies.some((c) => c.startsWith('tether-session='))).toBe(false);
    }
  }, 60_000);

  it('userhash canary: prefix 101 reaches the candidate with version: v2, others v1', async () => {
    for (const hash of ['1010', '101f00d', '101']) {
      const reply = await get({ userhash: hash, 'x-user': `canary-${hash}` });
      expect([reply.version, reply.replica]).toEqual(['v2', 'candidate-1']);
    }
    for (const hash of ['100', '0101', '911']) {
      const reply = await get({ userhash: hash, 'x-user': `canary-${hash}` });
      expect(reply.version).toBe('v1');
    }
  }, 60_000);

  it('shadow traffic: shadow-1 gets a copy of each request, the client gets demo-v1', async () => {
    const marker = `/e2e-shadow-${Date.now()}`;
    for (let i = 0; i < 5; i++) {
      const reply = await get({ 'x-user': `shadow-${i}` }, marker);
      expect(reply.status).toBe(200);
      expect(reply.replica).toMatch(/^replica-/);
    }
    // Copies are sent without waiting for them; give them a moment to be logged.
    let copies = 0;
    for (let attempt = 0; attempt < 10 && copies < 5; attempt++) {
      await new Promise((r) => setTimeout(r, 500));
      copies = compose(['logs', '--no-log-prefix', 'shadow-1']).split('\n').filter((l) => l.includes(marker)).length;
    }
    expect(copies).toBe(5);
  }, 60_000);

  it('strong stickiness: Envoy pins the session in tether-strong and keeps it there', async () => {
    const host = { host: 'strong.demo.local' };
    const first = await get(host);
    expect(first.status).toBe(200);
    const cookie = first.setCookies.find((c) => c.startsWith('tether-strong='));
    expect(cookie, `set-cookie: ${first.setCookies.join(' | ')}`).toBeDefined();
    const pair = cookie!.split(';')[0]!;
    for (let i = 0; i < 5; i++) {
      // A different x-user each time: without the pin, the ring would spread these.
      const reply = await get({ ...host, cookie: pair, 'x-user': `strong-${i}` });
      expect(reply.replica).toBe(first.replica);
    }
  }, 60_000);

  it('CLI rollout 90/10 → 50/50 → 100 % v2, then rollback', async () => {
    try {
      shift('split', 'demo', 'default', 'demo-v1=90', 'demo-v2=10');
      const ten = await v2Share(400, 'r10');
      expect(ten).toBeGreaterThan(0.04);
      expect(ten).toBeLessThan(0.18);

      shift('split', 'demo', 'default', 'demo-v1=50', 'demo-v2=50');
      const half = await v2Share(400, 'r50');
      expect(half).toBeGreaterThan(0.38);
      expect(half).toBeLessThan(0.62);

      shift('split', 'demo', 'default', 'demo-v1=0', 'demo-v2=100');
      expect(await v2Share(100, 'r100')).toBe(1);

      // Rollback: the previous version (50/50) comes back as a new version.
      shift('rollback');
      const back = await v2Share(400, 'rb');
      expect(back).toBeGreaterThan(0.38);
      expect(back).toBeLessThan(0.62);
      expect(tether('history')).toMatch(/rollback|rolled back/i);
    } finally {
      shift('split', 'demo', 'default', 'demo-v1=100', 'demo-v2=0');
    }
    expect(await v2Share(50, 'after')).toBe(0);
  }, 180_000);
});

describe.skipIf(dockerReady)('compose end-to-end (docs/demo.md)', () => {
  it.skip(SKIP_MESSAGE, () => undefined);
});
