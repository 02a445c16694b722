/**
 * The Tether every benchmark runs: the generated config of S services written to a fresh temp
 * dir, its history there too (so every edit is fsynced), xDS and admin (auth off) on 127.0.0.1
 * ephemeral ports, no file watcher, DNS re-resolved hourly (the config has no names anyway).
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { stringify } from 'yaml';
import type { Logger } from '../../src/log';
import type { TetherOptions } from '../../src/server/tether';
import { configDocument } from './config-gen';

export interface BenchTetherSetup {
  /** The temp dir (config file and data dir): the caller removes it. */
  dir: string;
  /** Bytes of the config file. */
  configBytes: number;
  options: TetherOptions;
}

export function benchTetherSetup(services: number, dirPrefix: string, logger: Logger): BenchTetherSetup {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), dirPrefix));
  const configPath = path.join(dir, 'config.yaml');
  const text = stringify(configDocument(services));
  fs.writeFileSync(configPath, text);
  return { dir, configBytes: Buffer.byteLength(text), options: benchTetherOptions(dir, logger) };
}

/** The options of a bench Tether whose config file and data dir are in `dir` (benchTetherSetup's). */
export function benchTetherOptions(dir: string, logger: Logger): TetherOptions {
  return {
      configPath: path.join(dir, 'config.yaml'),
      dataDir: path.join(dir, 'data'),
      xdsHost: '127.0.0.1',
      xdsPort: 0,
      watch: false,
      resolveIntervalMs: 3_600_000,
      admin: { host: '127.0.0.1', port: 0, auth: { mode: 'none' } },
      logger,
  };
}
