/**
 * A restart's head start (src/server/served-snapshot.ts): the Envoy snapshot persisted at
 * shutdown is served only when it is of the stored current version and of this build, and
 * the version is validated and built again before the start completes; a stale, torn, altered
 * or other build's file is ignored and the start takes the long way; a history that cannot
 * be read still refuses the start, and nothing is served from the file then.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { decodeSnapshotFile, encodeSnapshotFile, sameSnapshotBytes } from '../../src/cache/snapshot-file';
import { servedSnapshotPath, type SnapshotKey } from '../../src/server/served-snapshot';
import { startTether, type Tether } from '../../src/server/tether';
import { capturingLogger } from '../store/helpers';
import { SECRET_TYPE } from '../../src/envoy/resource-types';
import { hasOpenssl, makeTestPki } from '../support/tls-certs';
import { shopSplitConfig } from '../support/app-split-config';

const config = shopSplitConfig;

const dirs: string[] = [];
const tethers: Tether[] = [];
afterEach(async () => {
  for (const t of tethers.splice(0)) await t.close().catch(() => undefined);
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

function setup(weight = 90): { dir: string; dataDir: string; configPath: string } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tether-served-snapshot-'));
  dirs.push(dir);
  const configPath = path.join(dir, 'config.yaml');
  fs.writeFileSync(configPath, config(weight));
  return { dir, dataDir: path.join(dir, 'data'), configPath };
}

async function start(at: { dataDir: string; configPath: string }) {
  const { logger, lines } = capturingLogger();
  const tether = await startTether({ dataDir: at.dataDir, configPath: at.configPath, xdsHost: '127.0.0.1', xdsPort: 0, admin: false, extProc: false, watch: false, logger });
  tethers.push(tether);
  const said = (text: string) => lines.some((l) => String(l.msg).includes(text));
  return { tether, lines, said };
}

async function stop(t: Tether): Promise<void> {
  tethers.splice(tethers.indexOf(t), 1);
  await t.close();
}

/** The persisted file rewritten with `change` applied to its key and snapshot (a valid checksum). */
function rewrite(dataDir: string, change: (key: SnapshotKey) => SnapshotKey, snapshotFrom = dataDir): void {
  const own = decodeSnapshotFile(fs.readFileSync(servedSnapshotPath(dataDir)));
  const other = decodeSnapshotFile(fs.readFileSync(servedSnapshotPath(snapshotFrom)));
  if (!own.ok || !other.ok) throw new Error('no persisted snapshot');
  fs.writeFileSync(servedSnapshotPath(dataDir), encodeSnapshotFile(other.snapshot, change(own.key as SnapshotKey)));
}

const HEAD_START = 'serving the persisted snapshot';
const VERIFIED = 'equals a fresh build';
const DIFFERS = 'differs from a fresh build';

describe('persisted Envoy snapshot on restart', () => {
  it('a restart serves the persisted snapshot, validates and builds the version again, and finds the same bytes', async () => {
    const at = setup();
    const first = await start(at);
    const built = first.tether.cache.get('envoy')!;
    expect(first.said(HEAD_START)).toBe(false);
    await stop(first.tether);
    expect(fs.existsSync(servedSnapshotPath(at.dataDir))).toBe(true);

    const again = await start(at);
    expect(again.said(HEAD_START)).toBe(true);
    expect(again.said(VERIFIED)).toBe(true);
    expect(again.said(DIFFERS)).toBe(false);
    // Started means validated: the manager has the version, every kind is served.
    expect(again.tether.manager.current().version).toBe(1);
    expect(again.tether.cache.get('grpc')).toBeDefined();
    const served = again.tether.cache.get('envoy')!;
    expect(sameSnapshotBytes(served, built)).toBe(true);
  });

  it('a file of an older version (a crash after an edit) is ignored; the stored version is built and served', async () => {
    const at = setup();
    await stop((await start(at)).tether);
    const v1File = fs.readFileSync(servedSnapshotPath(at.dataDir));
    const second = await start(at);
    fs.writeFileSync(at.configPath, config(30));
    await second.tether.applyText(config(30), at.configPath);
    expect(second.tether.manager.current().version).toBe(2);
    const v2 = second.tether.cache.get('envoy')!;
    await stop(second.tether);
    fs.writeFileSync(servedSnapshotPath(at.dataDir), v1File);

    const third = await start(at);
    expect(third.said(HEAD_START)).toBe(false);
    expect(third.lines.some((l) => String(l.msg).includes('not of the stored version') && JSON.stringify(l.differs) === '["version","contentHash","createdAt"]')).toBe(true);
    expect(sameSnapshotBytes(third.tether.cache.get('envoy')!, v2)).toBe(true);
  });

  it('a torn or altered file (sha256) is ignored with a warning', async () => {
    for (const damage of [(b: Buffer) => b.subarray(0, b.length - 100), (b: Buffer) => (b[b.length - 200]! ^= 1, b)]) {
      const at = setup();
      const first = await start(at);
      const built = first.tether.cache.get('envoy')!;
      await stop(first.tether);
      fs.writeFileSync(servedSnapshotPath(at.dataDir), damage(fs.readFileSync(servedSnapshotPath(at.dataDir))));
      const again = await start(at);
      expect(again.said(HEAD_START)).toBe(false);
      expect(again.lines.some((l) => l.level === 40 && String(l.msg).includes('ignoring the persisted snapshot') && /sha256|past the end/.test(String(l.reason)))).toBe(true);
      expect(sameSnapshotBytes(again.tether.cache.get('envoy')!, built)).toBe(true);
    }
  });

  it("another build's file is ignored", async () => {
    const at = setup();
    await stop((await start(at)).tether);
    rewrite(at.dataDir, (key) => ({ ...key, build: 'another build' }));
    const again = await start(at);
    expect(again.said(HEAD_START)).toBe(false);
    expect(again.lines.some((l) => JSON.stringify(l.differs) === '["build"]')).toBe(true);
  });

  it('a file whose bytes differ from the fresh build is served first, then replaced by the fresh build, loudly', async () => {
    const at = setup(90);
    const other = setup(20);
    const first = await start(at);
    const built = first.tether.cache.get('envoy')!;
    await stop(first.tether);
    await stop((await start(other)).tether);
    // The other config's snapshot under this one's key: as if the build were not deterministic.
    rewrite(at.dataDir, (key) => key, other.dataDir);

    const again = await start(at);
    expect(again.said(HEAD_START)).toBe(true);
    expect(again.lines.some((l) => l.level === 50 && String(l.msg).includes(DIFFERS))).toBe(true);
    expect(sameSnapshotBytes(again.tether.cache.get('envoy')!, built)).toBe(true);
  });

  it('a history that cannot be read still refuses the start; nothing is served from the file', async () => {
    const at = setup();
    await stop((await start(at)).tether);
    const versions = path.join(at.dataDir, 'versions');
    for (const name of fs.readdirSync(versions)) fs.writeFileSync(path.join(versions, name), 'garbage');
    const { logger, lines } = capturingLogger();
    await expect(startTether({ dataDir: at.dataDir, configPath: at.configPath, xdsHost: '127.0.0.1', xdsPort: 0, admin: false, extProc: false, watch: false, logger })).rejects.toThrow(
      /config history is lost/,
    );
    expect(lines.some((l) => String(l.msg).includes(HEAD_START))).toBe(false);
  });
});

describe.skipIf(!hasOpenssl)('persisted Envoy snapshot and TLS listeners', () => {
  it('a snapshot holding SDS secrets (private keys) is not written; an older file is removed', async () => {
    const pki = makeTestPki();
    dirs.push(pki.dir);
    const at = setup();
    await stop((await start(at)).tether);
    expect(fs.existsSync(servedSnapshotPath(at.dataDir))).toBe(true);
    const tls = config(90).replace('listeners: [{ name: http, port: 10000 }]', `listeners: [{ name: https, port: 10443, tls: { certificate: ${pki.serverCert}, privateKey: ${pki.serverKey} } }]`);
    fs.writeFileSync(at.configPath, tls);
    const { logger, lines } = capturingLogger();
    const t = await startTether({ dataDir: at.dataDir, configPath: at.configPath, secretsDir: pki.dir, xdsHost: '127.0.0.1', xdsPort: 0, admin: false, extProc: false, watch: false, logger });
    tethers.push(t);
    expect(t.cache.get('envoy')!.sets[SECRET_TYPE].list.length).toBe(1);
    await stop(t);
    expect(fs.existsSync(servedSnapshotPath(at.dataDir))).toBe(false);
    expect(lines.some((l) => String(l.msg).includes('holds TLS private keys'))).toBe(true);
    const key = fs.readFileSync(pki.serverKey, 'utf8').split('\n')[1]!;
    for (const name of fs.readdirSync(at.dataDir, { recursive: true }) as string[]) {
      const file = path.join(at.dataDir, name);
      if (fs.statSync(file).isFile()) expect(fs.readFileSync(file, 'latin1').includes(key), name).toBe(false);
    }
  });
});
