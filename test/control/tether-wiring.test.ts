import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/log';
import { ConfigRejectedError, startTether, type Tether, type TetherOptions } from '../../src/server/tether';
import { NODE_KINDS } from '../../src/translate';

const yaml = (weight: number) => `
services:
  - name: shop
    routes: [{ backends: [{ name: v1, weight: ${100 - weight} }, { name: v2, weight: ${weight} }] }]
backends:
  - { name: v1, endpoints: ["10.0.0.1:8080"] }
  - { name: v2, endpoints: ["10.0.0.2:8080"] }
`;

let dir: string;
const running: Tether[] = [];

function paths() {
  dir ??= fs.mkdtempSync(path.join(os.tmpdir(), 'tether-wiring-'));
  return { configPath: path.join(dir, 'config.yaml'), dataDir: path.join(dir, 'data') };
}

async function start(options: Partial<TetherOptions> = {}): Promise<Tether> {
  const { configPath, dataDir } = paths();
  const t = await startTether({ configPath, dataDir, xdsHost: '127.0.0.1', xdsPort: 0, admin: false, watch: false, logger: silentLogger(), ...options });
  running.push(t);
  return t;
}

async function stop(t: Tether): Promise<void> {
  running.splice(running.indexOf(t), 1);
  await t.close();
}

afterEach(async () => {
  for (const t of running.splice(0)) await t.close();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
  dir = undefined as unknown as string;
});

describe('startTether with a config history', () => {
  it('seeds the history from the file, then serves what the history holds across restarts', async () => {
    const { configPath } = paths();
    fs.writeFileSync(configPath, yaml(10));
    const first = await start();
    expect(first.current().version).toBe('1');
    expect((await first.manager.history())[0]).toMatchObject({ version: 1, source: 'file', description: configPath });
    expect(await first.applyText(yaml(20), 'admin')).toEqual({ ok: true, version: '2', changed: true });
    expect((await first.manager.history())[0]).toMatchObject({ source: 'apply', description: expect.stringMatching(/^services ~\S+.* — admin$/) });
    const contents = NODE_KINDS.map((k) => first.cache.get(k)!.contentVersion);
    await stop(first);

    // Same file: the stored version 2 (not the file's content) is served, nothing new is stored.
    const second = await start();
    expect(second.current().version).toBe('2');
    expect(NODE_KINDS.map((k) => second.cache.get(k)!.contentVersion)).toEqual(contents);
    expect(await second.manager.history()).toHaveLength(2);
    await stop(second);

    // The file changed while Tether was down, but version 2 came through the admin API after
    // the file's version: by default the file is not applied (it would drop that edit)…
    fs.writeFileSync(configPath, yaml(30));
    const refused = await start();
    expect(refused.current().version).toBe('2');
    await stop(refused);
    // …unless the file is the source of truth: then it becomes version 3.
    const third = await start({ configSource: 'file' });
    expect(third.current().version).toBe('3');
    expect((await third.manager.history())[0]).toMatchObject({ version: 3, source: 'file' });
    expect(third.current().config.services[0]!.routes[0]!.backends[1]!.weight).toBe(30);
  });

  it('applyText with the config path records a file version; a rejected text changes nothing', async () => {
    const { configPath } = paths();
    fs.writeFileSync(configPath, yaml(10));
    const t = await start();
    expect(await t.applyText(yaml(40), configPath)).toMatchObject({ ok: true, version: '2' });
    expect((await t.manager.history())[0]).toMatchObject({ source: 'file', fileHash: expect.any(String) });
    const bad = await t.applyText('services: [', configPath);
    expect(bad.ok).toBe(false);
    const invalid = await t.applyText(yaml(-1), 'admin');
    expect(invalid).toEqual({ ok: false, errors: [{ path: 'services[0].routes[0].backends[1].weight', message: 'must be >= 0' }] });
    expect(t.current().version).toBe('2');
  });

  it('an invalid file: refused with an empty history, logged and ignored with a stored version', async () => {
    const { configPath } = paths();
    fs.writeFileSync(configPath, yaml(-1));
    await expect(start()).rejects.toBeInstanceOf(ConfigRejectedError);
    fs.writeFileSync(configPath, yaml(10));
    await stop(await start());
    fs.writeFileSync(configPath, 'services: [');
    const t = await start();
    expect(t.current().version).toBe('1');
    await stop(t);
    fs.writeFileSync(configPath, yaml(-1));
    const again = await start();
    expect(again.current().version).toBe('1');
  });

  it('the built-in default config seeds an empty history as source "default"', async () => {
    const t = await start({ configPath: undefined });
    expect((await t.manager.history())[0]).toMatchObject({ version: 1, source: 'default', description: 'built-in default config' });
    expect(t.current().config.services.map((s) => s.name)).toEqual(['demo']);
  });
});
