/**
 * What a start loads before its first snapshot (src/server/tether.ts, store-opening.ts): a
 * file-store start never loads the etcd client, and the admin API's modules (grpc reflection)
 * are loaded only once the first version is served, in a new process of the built code as
 * `tether serve` runs it.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const DIST = path.resolve(__dirname, '../../dist/src/server/tether.js');
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tether-start-modules-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

/** Starts the built Tether in a child process; reports the modules loaded at the first snapshot and after the start. */
const SCRIPT = `
const { startTether } = require(process.argv[1]);
const { silentLogger } = require(process.argv[1].replace(/server\\/tether\\.js$/, 'log.js'));
const loaded = (re) => Object.keys(require.cache).some((k) => re.test(k));
const seen = (label) => ({ label, etcd: loaded(/node_modules\\/etcd3\\//), reflection: loaded(/node_modules\\/@grpc\\/reflection\\//), admin: loaded(/dist\\/src\\/admin\\/server\\.js$/) });
(async () => {
  const report = [];
  const { SnapshotCache } = require(process.argv[1].replace(/server\\/tether\\.js$/, 'cache/snapshot-cache.js'));
  const set = SnapshotCache.prototype.set;
  SnapshotCache.prototype.set = function (...args) {
    if (report.length === 0) report.push(seen('first snapshot'));
    return set.apply(this, args);
  };
  const tether = await startTether({ configPath: process.argv[2], dataDir: process.argv[3], xdsHost: '127.0.0.1', xdsPort: 0, admin: { host: '127.0.0.1', port: 0, auth: { mode: 'none' } }, extProc: false, watch: false, logger: silentLogger() });
  report.push(seen('started'));
  await tether.close();
  process.stdout.write(JSON.stringify(report));
})().catch((err) => { console.error(err); process.exit(1); });
`;

describe.skipIf(!fs.existsSync(DIST))('modules loaded by a start (built code)', () => {
  it('no etcd client with a file store; the admin API only after the first snapshot', { timeout: 60_000 }, () => {
    const configPath = path.join(dir, 'config.yaml');
    fs.writeFileSync(configPath, 'services: [{ name: shop, routes: [{ backends: [{ name: v1 }] }] }]\nbackends: [{ name: v1, endpoints: ["10.0.0.1:8080"] }]\n');
    const out = execFileSync(process.execPath, ['-e', SCRIPT, DIST, configPath, path.join(dir, 'data')], { encoding: 'utf8', timeout: 50_000 });
    expect(JSON.parse(out)).toEqual([
      { label: 'first snapshot', etcd: false, reflection: false, admin: false },
      { label: 'started', etcd: false, reflection: true, admin: true },
    ]);
  });
});
