/**
 * The config file is parsed only when it is used: a restart whose file is unchanged serves the
 * stored history without reading the file's YAML (seconds of CPU at 10,000 services).
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { SnapshotCache } from '../../src/cache/snapshot-cache';
import { parseConfigDocument } from '../../src/config';
import type { ConfigManager } from '../../src/control/config-manager';
import { createPublisher, type Publisher } from '../../src/control/publisher';
import { openSeededManager, fileHash, readInitialConfig, type InitialConfig } from '../../src/server/config-seeding';
import type { TetherOptions } from '../../src/server/tether-options';
import { capturingLogger } from '../store/helpers';
import { MemoryStore } from '../control/memory-store';
import { shopSplitConfig } from '../support/app-split-config';

const text = shopSplitConfig;

const options = { configPath: '/etc/tether/config.yaml' } as TetherOptions;
const opened: Array<{ manager: ConfigManager; publisher: Publisher }> = [];
afterEach(async () => {
  for (const { manager, publisher } of opened.splice(0)) {
    await manager.close();
    publisher.close();
  }
});

/** An InitialConfig that counts its parses. */
function initial(source: string): InitialConfig & { parses: number } {
  const result = {
    label: options.configPath!,
    text: source,
    parses: 0,
    document: () => {
      result.parses++;
      return parseConfigDocument(source, options.configPath);
    },
  };
  return result;
}

async function start(store: MemoryStore, init: InitialConfig) {
  const publisher = createPublisher({ cache: new SnapshotCache(), logger: capturingLogger().logger });
  const { logger, lines } = capturingLogger();
  const manager = await openSeededManager(init, options, { store, publisher, logger });
  opened.push({ manager, publisher });
  return { manager, lines };
}

const weights = (m: ConfigManager) => m.current().config.services[0]!.routes[0]!.backends.map((b) => b.weight);

describe('config seeding', () => {
  it('parses the file to seed an empty history, not on a restart with the same file', async () => {
    const store = new MemoryStore();
    const first = initial(text(90));
    const a = await start(store, first);
    expect(first.parses).toBe(1);
    expect(a.manager.current().version).toBe(1);
    expect(store.records[0]!.fileHash).toBe(fileHash(text(90)));
    await a.manager.close();

    const again = initial(text(90));
    const b = await start(store, again);
    expect(again.parses).toBe(0);
    expect(b.manager.current().version).toBe(1);
    expect(weights(b.manager)).toEqual([90, 10]);
  });

  it('parses and applies a file that changed while Tether was down; a broken one is logged and the stored version served', async () => {
    const store = new MemoryStore();
    await (await start(store, initial(text(90)))).manager.close();

    const changed = initial(text(60));
    const b = await start(store, changed);
    expect(changed.parses).toBe(1);
    expect(b.manager.current().version).toBe(2);
    expect(weights(b.manager)).toEqual([60, 40]);
    await b.manager.close();

    const broken = initial('services: [');
    const c = await start(store, broken);
    expect(broken.parses).toBe(1);
    expect(c.manager.current().version).toBe(2);
    expect(c.lines.some((l) => String(l.msg).startsWith('config file rejected; serving the stored version'))).toBe(true);
  });

  it('hands the manager the parsed file frozen: the document served is that one, not a copy of it', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tether-seed-'));
    try {
      const configPath = path.join(dir, 'config.yaml');
      fs.writeFileSync(configPath, text(70));
      const init = readInitialConfig({ configPath } as TetherOptions, path.join(dir, 'data'));
      const parsed = await init.document();
      expect(parsed.ok && Object.isFrozen(parsed.ok ? parsed.document.services : undefined)).toBe(true);
      const { manager } = await start(new MemoryStore(), init);
      expect(parsed.ok && manager.current().document).toBe(parsed.ok ? parsed.document : undefined);
      expect(weights(manager)).toEqual([70, 30]);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
