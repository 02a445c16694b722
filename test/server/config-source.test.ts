/**
 * The config file and the admin API both change the config: who wins is explicit
 * (--config-source), a file save never silently drops admin edits, and a Kubernetes
 * ConfigMap update (a `..data` symlink swap) is noticed.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { ConfigSourceMode } from '../../src/control/config-source';
import { edits } from '../../src/control/mutations';
import { startTether, type Tether } from '../../src/server/tether';
import { capturingLogger } from '../store/helpers';
import { waitFor } from '../support/harness';
import { makeTempDir, removeTempDir } from '../support/temp-dir';

const config = (v1: number, comment = '') => `${comment}
listeners: [{ name: http, port: 10000, address: 127.0.0.1 }]
services:
  - name: shop
    routes: [{ name: main, backends: [{ name: v1, weight: ${v1} }, { name: v2, weight: ${100 - v1} }] }]
backends:
  - { name: v1, endpoints: ["127.0.0.1:8081"] }
  - { name: v2, endpoints: ["127.0.0.1:8082"] }
`;

const dirs: string[] = [];
const tethers: Tether[] = [];
afterEach(async () => {
  for (const t of tethers.splice(0)) await t.close();
  for (const d of dirs.splice(0)) removeTempDir(d);
});

function save(file: string, text: string): void {
  fs.writeFileSync(`${file}.tmp`, text);
  fs.renameSync(`${file}.tmp`, file);
}

function weights(t: Tether): number[] {
  return t.manager.current().config.services[0]!.routes[0]!.backends.map((b) => b.weight);
}

async function start(mode: ConfigSourceMode | undefined, dir = makeTempDir('config-source'), file = path.join(dir, 'config.yaml')) {
  dirs.push(dir);
  if (!fs.existsSync(file)) save(file, config(90));
  const { logger, lines } = capturingLogger();
  const tether = await startTether({
    configPath: file,
    dataDir: path.join(dir, 'data'),
    xdsHost: '127.0.0.1',
    xdsPort: 0,
    admin: false,
    logger,
    ...(mode ? { configSource: mode } : {}),
  });
  tethers.push(tether);
  return { tether, file, lines, dir };
}

describe('config sources', () => {
  it('auto (default): a file save that would drop an admin edit is refused, loudly; the admin edit stays served', async () => {
    const { tether, file, lines } = await start(undefined);
    const split = await tether.manager.mutate('split', edits.setSplit('shop', 'main', { v1: 0, v2: 100 }), {});
    save(file, config(90, '# only a comment changed'));
    const refusal = await waitFor('the refusal in the log', () => lines.find((l) => String(l.msg).includes('the file was NOT applied')));
    expect(refusal.level).toBe(50);
    expect(String(refusal.msg)).toContain(`version ${split.version} (split`);
    expect(String(refusal.msg)).toContain(`tether apply -f ${file}`);
    expect(tether.manager.current().version).toBe(split.version);
    expect(weights(tether)).toEqual([0, 100]);
    // The operator decides: the file through the API wins, and file saves apply again.
    await tether.applyText(fs.readFileSync(file, 'utf8'), 'apply');
    expect(weights(tether)).toEqual([90, 10]);
  });

  it('auto: a file save with no admin edit since the file is applied', async () => {
    const { tether, file } = await start('auto');
    save(file, config(50));
    await waitFor('the file applied', () => weights(tether)[0] === 50);
  });

  it('file: every save wins, admin edits are refused', async () => {
    const { tether, file } = await start('file');
    await expect(tether.manager.mutate('split', edits.setSplit('shop', 'main', { v1: 0, v2: 100 }), {})).rejects.toThrow(/managed by the file .* \(--config-source file\)/);
    save(file, config(70));
    await waitFor('the file applied', () => weights(tether)[0] === 70);
    await expect(tether.manager.rollback(0, {})).rejects.toThrow(/managed by the file/);
  });

  it('api: the file seeds an empty history only; saves and restarts with a changed file leave the admin edits', async () => {
    const { tether, file, dir } = await start('api');
    await tether.manager.mutate('split', edits.setSplit('shop', 'main', { v1: 0, v2: 100 }), {});
    const version = tether.manager.current().version;
    save(file, config(10));
    // No watcher in api mode: nothing can change; check after a restart too.
    await tether.close();
    tethers.splice(tethers.indexOf(tether), 1);
    const again = await start('api', dir, file);
    expect(again.tether.manager.current().version).toBe(version);
    expect(weights(again.tether)).toEqual([0, 100]);
  });

  it('a Kubernetes ConfigMap update (the ..data symlink swapped) is applied', async () => {
    const dir = makeTempDir('configmap');
    const mount = path.join(dir, 'mount');
    fs.mkdirSync(path.join(mount, '..2026_12_05_01'), { recursive: true });
    fs.writeFileSync(path.join(mount, '..2026_12_05_01', 'config.yaml'), config(90));
    fs.symlinkSync('..2026_12_05_01', path.join(mount, '..data'));
    fs.symlinkSync('..data/config.yaml', path.join(mount, 'config.yaml'));
    const { tether } = await start('auto', dir, path.join(mount, 'config.yaml'));
    expect(weights(tether)).toEqual([90, 10]);
    // What the kubelet does: a new timestamped dir, a new symlink, renamed over ..data.
    fs.mkdirSync(path.join(mount, '..2026_12_05_02'));
    fs.writeFileSync(path.join(mount, '..2026_12_05_02', 'config.yaml'), config(60));
    fs.symlinkSync('..2026_12_05_02', path.join(mount, '..data_tmp'));
    fs.renameSync(path.join(mount, '..data_tmp'), path.join(mount, '..data'));
    fs.rmSync(path.join(mount, '..2026_12_05_01'), { recursive: true });
    await waitFor('the ConfigMap update applied', () => weights(tether)[0] === 60);
  });
});
