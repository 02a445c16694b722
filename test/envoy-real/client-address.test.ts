/**
 * Client-IP affinity behind a load balancer, through a real Envoy: which address Envoy hashes
 * for a clientIp key on a listener with no trusted hop (an edge facing clients) and with one
 * (behind an L7 balancer that appends the client to X-Forwarded-For), compared request by
 * request with explain (in-process and the built `tether explain`) given the same peer and
 * header, and with Envoy's own access log (`client`: the address it attributed the request to).
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { ExplainOutcome } from '../../src/explain';
import { mapBounded } from '../support/bounded';
import { envoyAvailable, freePort, request, startEnvoy, type EnvoyProcess } from '../support/envoy';
import { ADMIN_TOKEN, Harness } from '../support/harness';
import { servedExplainer, type ServedExplainer } from '../support/served-explain';
import { cleanEnv, hasBuild, runCli } from '../cli/harness';

const FLIGHT = 12;

describe.skipIf(!envoyAvailable())('client address through a real Envoy', () => {
  const h = new Harness();
  let envoy: EnvoyProcess;
  let ex: ServedExplainer;
  const ports = { edge: 0, lb: 0 };
  const idOf = new Map<string, string>();

  async function replicaVia(port: number, host: string, peer: string, xff?: string): Promise<string> {
    const reply = await request(port, { localAddress: peer, headers: { host, ...(xff !== undefined ? { 'x-forwarded-for': xff } : {}) } });
    if (reply.status !== 200 || !reply.json) throw new Error(`HTTP ${reply.status}: ${reply.body.slice(0, 200)}`);
    return reply.json.replica;
  }
  const predicted = (o: ExplainOutcome) => (o.pick ? (idOf.get(o.pick.address) ?? o.pick.address) : `no pick: ${o.reason}`);

  beforeAll(async () => {
    const replicas = [await h.replica('r1'), await h.replica('r2'), await h.replica('r3')];
    const endpoints = replicas.map((r) => `127.0.0.1:${r.httpPort}`);
    replicas.forEach((r, i) => idOf.set(endpoints[i]!, r.id));
    ports.edge = await freePort();
    ports.lb = await freePort();
    await h.start({
      listeners: [
        { name: 'edge', port: ports.edge, address: '127.0.0.1' },
        { name: 'behind-lb', port: ports.lb, address: '127.0.0.1', clientAddress: { trustedHops: 1 } },
      ],
      services: [{ name: 'ip', affinity: { keys: [{ clientIp: true }] }, routes: [{ backends: [{ name: 'ip-v1' }] }] }],
      backends: [{ name: 'ip-v1', endpoints }],
    });
    ex = await servedExplainer(h.tether);
    // Envoy writes access log lines in batches (every 10 s by default): flush them promptly here.
    envoy = await startEnvoy({ xdsPort: h.tether.xdsPort, args: ['--file-flush-interval-msec', '100'] });
    await envoy.waitConnected();
    for (const port of [ports.edge, ports.lb]) {
      await envoy.until(`a reply on :${port}`, async () => (await request(port)).status === 200);
    }
  });
  afterEach(async () => {
    await envoy.expectNoRejections();
  });
  afterAll(async () => {
    await envoy?.close();
    await h.close();
  });

  it('no trusted hop: 40 spoofed X-Forwarded-For values from one client all reach its replica; explain agrees', async () => {
    const spoofed = Array.from({ length: 40 }, (_, i) => `198.51.100.${i + 1}`);
    const reached = await mapBounded(spoofed, FLIGHT, (xff) => replicaVia(ports.edge, 'a', '127.0.6.1', xff));
    const plain = await replicaVia(ports.edge, 'a', '127.0.6.1');
    expect(new Set(reached)).toEqual(new Set([plain]));
    const explained = spoofed.map((xff) => predicted(ex.explain({ service: 'ip', listener: 'edge', clientIp: '127.0.6.1', headers: { 'x-forwarded-for': xff } })));
    expect(new Set(explained)).toEqual(new Set([plain]));
    // Different clients do spread: the peer is what is hashed.
    const peers = Array.from({ length: 30 }, (_, i) => `127.0.6.${i + 2}`);
    const byPeer = await mapBounded(peers, FLIGHT, (peer) => replicaVia(ports.edge, 'a', peer, '203.0.113.9'));
    expect(byPeer).toEqual(peers.map((peer) => predicted(ex.explain({ service: 'ip', listener: 'edge', clientIp: peer, headers: { 'x-forwarded-for': '203.0.113.9' } }))));
    expect(new Set(byPeer).size).toBe(3);
  });

  it('one trusted hop: the balancer-appended address decides, not the peer nor what the client prepended; explain agrees', async () => {
    const clients = Array.from({ length: 40 }, (_, i) => `198.51.100.${i + 1}`);
    // All through one "balancer" connection address; the client itself wrote a spoofed first entry.
    const reached = await mapBounded(clients, FLIGHT, (c) => replicaVia(ports.lb, 'a', '127.0.7.1', `6.6.6.6, ${c}`));
    const respoofed = await mapBounded(clients, FLIGHT, (c) => replicaVia(ports.lb, 'a', '127.0.7.1', `7.7.7.${clients.indexOf(c) + 1}, ${c}`));
    expect(respoofed).toEqual(reached);
    const explained = clients.map((c) => predicted(ex.explain({ service: 'ip', listener: 'behind-lb', clientIp: '127.0.7.1', headers: { 'x-forwarded-for': `6.6.6.6, ${c}` } })));
    expect(explained).toEqual(reached);
    expect(new Set(reached).size).toBe(3);
    // No X-Forwarded-For (or a malformed one): the peer, on both sides.
    for (const xff of [undefined, 'not-an-ip']) {
      const got = await replicaVia(ports.lb, 'a', '127.0.7.2', xff);
      const want = predicted(ex.explain({ service: 'ip', listener: 'behind-lb', clientIp: '127.0.7.2', headers: xff ? { 'x-forwarded-for': xff } : {} }));
      expect({ xff, got }).toEqual({ xff, got: want });
    }
  });

  it("Envoy's access log names the address it attributed each request to", async () => {
    await request(ports.lb, { localAddress: '127.0.7.3', headers: { host: 'a', 'x-forwarded-for': '6.6.6.6, 198.51.100.77', 'user-agent': 'client-address-test-1' } });
    await request(ports.edge, { localAddress: '127.0.6.99', headers: { host: 'a', 'x-forwarded-for': '198.51.100.78', 'user-agent': 'client-address-test-2' } });
    const line = (agent: string) =>
      envoy.until(`access log line of ${agent}`, () => {
        const found = envoy.logs().split('\n').find((l) => l.includes(agent));
        return found ? (JSON.parse(found.slice(found.indexOf('{'))) as Record<string, unknown>) : undefined;
      });
    expect(await line('client-address-test-1')).toMatchObject({ client: '198.51.100.77', peer: expect.stringMatching(/^127\.0\.7\.3:\d+$/) });
    expect(await line('client-address-test-2')).toMatchObject({ client: '127.0.6.99' });
  });

  it.skipIf(!hasBuild)('the built `tether explain` names the replica Envoy picked, given the peer and X-Forwarded-For', async () => {
    const env = cleanEnv({ TETHER_ADMIN_ADDR: `127.0.0.1:${h.tether.adminPort}`, TETHER_ADMIN_TOKEN: ADMIN_TOKEN });
    const viaLb = await replicaVia(ports.lb, 'a', '127.0.7.9', '6.6.6.6, 198.51.100.200');
    const res = await runCli(['explain', 'ip', '--listener', 'behind-lb', '--client-ip', '127.0.7.9', '-H', 'x-forwarded-for=6.6.6.6, 198.51.100.200', '-o', 'json'], { env, cwd: h.dir, timeoutMs: 30_000 });
    expect(res.code, res.stderr).toBe(0);
    const json = JSON.parse(res.stdout) as { pick?: { address: string }; notes: string[] };
    expect(idOf.get(json.pick!.address)).toBe(viaLb);
    expect(json.notes.join('\n')).toContain("X-Forwarded-For's 1st address from the right");
  });
});
