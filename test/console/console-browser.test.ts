/**
 * The web console in a real browser (headless Chromium from Debian's package, driven by
 * playwright-core) against a real Tether, with a real Envoy connected when one is installed:
 * the page asks for the admin token and loads; the ring shares it shows equal `tether
 * explain`'s; an edit made with `tether split` appears without a reload; the explain and
 * what-if boxes agree with the CLI. A screenshot of every view goes to test-artifacts/console/
 * (and to docs/console/ with TETHER_DOCS_SCREENSHOTS=1, to refresh the README's).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultAssetsDir } from '../../src/console';
import { chromiumAvailable, launchChromium } from '../support/chromium';
import { envoyAvailable, freePort, startEnvoy, type EnvoyProcess } from '../support/envoy';
import { ADMIN_TOKEN, Harness } from '../support/harness';
import { cleanEnv, hasBuild, runCli, TestNode } from '../cli/harness';

const ROOT = path.resolve(__dirname, '../..');
const ARTIFACTS = path.join(ROOT, 'test-artifacts', 'console');
const DOCS = path.join(ROOT, 'docs', 'console');
const built = hasBuild && fs.existsSync(path.join(defaultAssetsDir(), 'app.js'));
if (!built) console.warn('skipping the console browser tests: the build is missing (npm run build)');

const config = (listenerPort: number) => `
listeners: [{ name: http, address: 127.0.0.1, port: ${listenerPort} }]
services:
  - name: shop
    affinity: { keys: [{ header: x-user }] }
    routes:
      - name: main
        stickySplit: true
        backends: [{ name: shop-v1, weight: 90 }, { name: shop-v2, weight: 10 }]
  - name: chat
    domains: [chat.example]
    affinity: { keys: [{ header: x-user }, { cookie: { name: chat-session, ttl: 1h } }] }
    routes:
      - name: beta
        match: { headers: { x-beta: { exact: "1" } } }
        backends: [{ name: chat-v1 }]
        mirror: [{ backend: chat-v1, percent: 5 }]
      - name: default
        backends: [{ name: chat-v1 }]
backends:
  - name: shop-v1
    endpoints: ["127.0.0.1:8081", "127.0.0.1:8082", "127.0.0.1:8083"]
  - name: shop-v2
    endpoints: ["127.0.0.1:8091"]
  - name: chat-v1
    endpoints: ["127.0.0.2:9001", "127.0.0.2:9002", { address: "127.0.0.2:9003", weight: 2 }]
    balancer: { type: maglev, tableSize: 1009 }
`;

const canRun = built && chromiumAvailable();

describe.skipIf(!canRun)('web console in headless Chromium', () => {
  const h = new Harness();
  let browser: Browser;
  let page: Page;
  let envoy: EnvoyProcess | undefined;
  let nacker: TestNode | undefined;
  let base: string;
  let env: NodeJS.ProcessEnv;
  const tether = (args: string[]) => runCli(args, { env, cwd: h.dir, timeoutMs: 20_000 });
  const json = async (args: string[]) => {
    const res = await tether([...args, '-o', 'json']);
    expect(res.code, res.stderr).toBe(0);
    return JSON.parse(res.stdout);
  };

  async function screenshot(view: string): Promise<void> {
    fs.mkdirSync(ARTIFACTS, { recursive: true });
    const file = path.join(ARTIFACTS, `${view}.png`);
    await page.screenshot({ path: file, fullPage: true });
    if (process.env.TETHER_DOCS_SCREENSHOTS === '1') {
      fs.mkdirSync(DOCS, { recursive: true });
      fs.copyFileSync(file, path.join(DOCS, `${view}.png`));
    }
  }

  async function show(view: string, ready: string): Promise<void> {
    await page.click(`#tab-${view}`);
    await page.waitForSelector(ready, { timeout: 10_000 });
  }

  beforeAll(async () => {
    const tetherServer = await h.start(config(await freePort()), { metrics: { host: '127.0.0.1', port: 0 }, extProc: { host: '127.0.0.1', port: 0 } });
    base = `http://127.0.0.1:${tetherServer.metricsPort}/console/`;
    env = cleanEnv({ TETHER_ADMIN_ADDR: `127.0.0.1:${tetherServer.adminPort}`, TETHER_ADMIN_TOKEN: ADMIN_TOKEN });
    // A real Envoy when there is one (it applies everything: SYNCED), and a node that rejects
    // everything it is sent (NACKED), so the nodes view shows both states.
    if (envoyAvailable()) envoy = await startEnvoy({ xdsPort: tetherServer.xdsPort, extProcPort: tetherServer.extProcPort!, nodeId: 'envoy-sidecar-1' });
    nacker = new TestNode(`127.0.0.1:${tetherServer.xdsPort}`, 'grpc-client-7', tetherServer.cache, 'grpc');
    nacker.setMode('nack');
    browser = await launchChromium();
    page = await browser.newPage({ viewport: { width: 1280, height: 860 } });
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await nacker?.close();
    if (envoy) {
      await envoy.expectNoRejections();
      await envoy.close();
    }
    await h.close();
  }, 30_000);

  it('asks for the admin token, then shows services, routes, splits and the sticky canary', async () => {
    await page.goto(base);
    await page.waitForSelector('#login', { timeout: 10_000 });
    await page.fill('#login input[name=token]', 'wrong-token');
    await page.click('#login button');
    await page.waitForSelector('#login .error:text("invalid admin token")', { timeout: 10_000 });
    await page.fill('#login input[name=token]', ADMIN_TOKEN);
    await page.click('#login button');
    await page.waitForSelector('#view-services [data-service=shop]', { timeout: 10_000 });
    expect(await page.textContent('#current-version')).toBe('v1');
    expect(await page.textContent('[data-service=shop] .keys')).toContain('header x-user');
    expect(await page.textContent('[data-canary=shop-v2]')).toContain('weight 10.0 %');
    // Envoy ≥ 1.36 picks the version by hash (sessions follow the weights); gRPC clients get one ring.
    expect(await page.textContent('[data-canary=shop-v2] .session-share')).toMatch(/^sessions on its replicas \(gRPC ring\): (9\.\d\d|10\.\d\d) %$/);
    expect(await page.textContent('[data-service=chat] [data-route=beta]')).toContain('header x-beta exact "1"');
    expect(await page.textContent('[data-service=chat] [data-route=beta]')).toContain('mirror 5 % → chat-v1');
    await screenshot('services');
  });

  it('draws every ring and maglev table with the shares `tether explain` gives', async () => {
    await show('rings', '#view-rings [data-cluster]');
    const clusters = await page.$$eval('#view-rings [data-cluster]', (cards) => cards.map((c) => c.getAttribute('data-cluster')!));
    // Envoy ≥ 1.36 picks a sticky split's version by the request hash: one cluster per version.
    expect(clusters.sort()).toEqual(['chat-v1', 'shop-v1', 'shop-v2']);
    const shop = await json(['explain', 'shop', '-H', 'x-user=alice', '--kind', 'envoy']);
    const chat = await json(['explain', 'chat', '-H', 'x-user=alice', '--kind', 'envoy']);
    // A split's explain gives each version's pick (where the user lands if that version is chosen), shares included.
    const picks = [...shop.weighted_clusters.map((c: { pick: unknown }) => c.pick), chat.pick] as Array<{ cluster: string; shares: Array<{ address: string; share: number }> }>;
    expect(picks.map((p) => p.cluster).sort()).toEqual(clusters);
    for (const pick of picks) {
      const onScreen = await page.$$eval(`[data-cluster="${pick.cluster}"] tr[data-replica]`, (rows) =>
        rows.map((r) => ({ address: r.getAttribute('data-replica')!, exact: r.getAttribute('data-share')!, shown: r.querySelector('.share')!.textContent! })),
      );
      expect(onScreen.map((r) => r.address).sort()).toEqual(pick.shares.map((s) => s.address).sort());
      for (const s of pick.shares) {
        const row = onScreen.find((r) => r.address === s.address)!;
        expect(Number(row.exact)).toBe(s.share);
        expect(row.shown).toBe(`${(s.share * 100).toFixed(3)} %`);
      }
      expect(await page.$$eval(`[data-cluster="${pick.cluster}"] svg .layout path`, (p) => p.length)).toBeGreaterThanOrEqual(pick.shares.length);
      expect(await page.$$eval(`[data-cluster="${pick.cluster}"] svg .shares path`, (p) => p.length)).toBe(pick.shares.length);
    }
    await screenshot('rings');
  });

  it('shows an admin edit without a reload', async () => {
    await show('services', '#view-services [data-service=shop]');
    let navigations = 0;
    page.on('framenavigated', () => navigations++);
    const split = await tether(['split', 'shop', 'main', 'shop-v1=50', 'shop-v2=50']);
    expect(split.code, split.stderr).toBe(0);
    await page.waitForSelector('#current-version:text-is("v2")', { timeout: 10_000 });
    await page.waitForSelector('[data-canary=shop-v2]:has-text("weight 50.0 %")', { timeout: 10_000 });
    expect(navigations).toBe(0);
  });

  it('lists every node with its kind, applied version and per-type state', async () => {
    await show('nodes', '#view-nodes [data-node=grpc-client-7] [data-type=CDS]');
    await page.waitForSelector('[data-node=grpc-client-7] [data-type=CDS]:text-is("NACKED")', { timeout: 10_000 });
    expect(await page.textContent('#view-nodes .nacks')).toContain('test node: rejected on purpose');
    if (envoy) {
      // The real Envoy applied v2 (the edit above): every type SYNCED.
      for (const type of ['LDS', 'RDS', 'CDS', 'EDS']) {
        await page.waitForSelector(`[data-node=envoy-sidecar-1] [data-type=${type}]:text-is("SYNCED")`, { timeout: 15_000 });
      }
      expect(await page.textContent('[data-node=envoy-sidecar-1]')).toContain('v2');
    }
    await screenshot('nodes');
  });

  it('shows the version history and the Envoy-resource diff of two versions', async () => {
    await show('history', '#view-history tr[data-version="2"]');
    expect(await page.textContent('#view-history tr[data-version="2"]')).toContain('split shop/main: shop-v1=50 shop-v2=50');
    await page.selectOption('#view-history select[name=from]', '1');
    await page.selectOption('#view-history select[name=to]', '2');
    await page.click('#diff-button');
    await page.waitForSelector('.diff-result[data-from="1"][data-to="2"] .change', { timeout: 10_000 });
    const text = await page.textContent('.diff-result');
    // The split's new weights, in the Envoy route (and in the gRPC clients' sticky ring).
    expect(text).toMatch(/MODIFIED envoy RDS http/);
    expect(text).toMatch(/\+\s+value: 50/);
    expect(await page.$$eval('.diff-result .diff .add', (l) => l.length)).toBeGreaterThan(0);
    await screenshot('history');
  });

  it('explains a request the way `tether explain` does', async () => {
    await show('explain', '#explain-form');
    await page.selectOption('#explain-form select[name=service]', 'chat');
    await page.fill('#explain-form textarea[name=headers]', 'x-user=alice\nx-beta=1');
    await page.selectOption('#explain-form select[name=kind]', 'envoy');
    await page.click('#explain-form button');
    await page.waitForSelector('.explain-result[data-replica]', { timeout: 10_000 });
    const cli = await json(['explain', 'chat', '-H', 'x-user=alice', '-H', 'x-beta=1', '--kind', 'envoy']);
    expect(cli.route).toBe('beta');
    expect(await page.getAttribute('.explain-result', 'data-replica')).toBe(cli.pick.address);
    expect(await page.textContent('#explain-hash')).toBe(cli.request_hash);
    expect(await page.textContent('.explain-result')).toContain(`maglev slot ${cli.pick.index}/${cli.pick.size}`);
    // The picked replica is highlighted on the cluster's table below.
    await page.waitForSelector(`#view-explain [data-cluster=chat-v1] tr.picked[data-replica="${cli.pick.address}"]`, { timeout: 10_000 });
    await screenshot('explain');
  });

  it('what-if: sessions moving per replica, as `tether what-if` says', async () => {
    await show('what-if', '#what-if-form');
    await page.selectOption('#what-if-form select[name=change]', 'add_endpoint');
    await page.selectOption('#what-if-form select[name=backend]', 'chat-v1');
    await page.fill('#what-if-form input[name=address]', '127.0.0.2:9004');
    await page.selectOption('#what-if-form select[name=kind]', 'envoy');
    await page.click('#what-if-form button');
    await page.waitForSelector('.impact[data-route="chat/default"]', { timeout: 20_000 });
    const cli = await json(['what-if', 'endpoints', 'add', 'chat-v1', '127.0.0.2:9004', '--kind', 'envoy']);
    const route = cli.routes.find((r: { route: string }) => r.route === 'default');
    expect(Number(await page.getAttribute('.impact[data-route="chat/default"]', 'data-moved'))).toBe(route.moved);
    expect(await page.$$eval('.impact[data-route="chat/default"] tr[data-replica]', (rows) => rows.length)).toBe(4);
    await screenshot('what-if');
  });
});
