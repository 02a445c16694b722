import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import pino from 'pino';
import { afterEach } from 'vitest';
import type { Logger } from '../../src/log';
import type { VersionRecord } from '../../src/store/types';

const made: string[] = [];
afterEach(() => {
  for (const dir of made.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
});

/** A fresh parent directory; the store goes in `<it>/store` so the test sees it created. */
export function tempStoreDir(): string {
  const parent = fs.mkdtempSync(path.join(os.tmpdir(), 'tether-store-'));
  made.push(parent);
  return path.join(parent, 'store');
}

export function record(version: number, extra: Partial<VersionRecord> = {}): VersionRecord {
  return {
    version,
    document: { services: [{ name: `svc-${version}`, routes: [{ backends: [{ name: 'b', weight: version }] }] }], note: 'é ☃ \u2028' },
    contentHash: `hash-${version}`,
    createdAt: new Date(Date.UTC(2025, 0, 1, 0, 0, version)).toISOString(),
    source: 'apply',
    description: `version ${version}`,
    ...extra,
  };
}

export function meta(r: VersionRecord): Omit<VersionRecord, 'document'> {
  const { document: _ignored, ...rest } = r;
  return rest;
}

/** A logger that keeps every line, to assert on recovery warnings. */
export function capturingLogger(): { logger: Logger; lines: Array<Record<string, unknown>> } {
  const lines: Array<Record<string, unknown>> = [];
  const logger = pino({ level: 'debug' }, { write: (line: string) => void lines.push(JSON.parse(line) as Record<string, unknown>) });
  return { logger, lines };
}

export function versionFiles(dir: string): string[] {
  return fs.readdirSync(path.join(dir, 'versions')).sort();
}
