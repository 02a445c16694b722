/**
 * A restart's head start: at shutdown the Envoy snapshot being served is written beside the
 * history (cache/snapshot-file.ts), keyed by its version's number, config hash and creation
 * time and by this Tether build; a restart whose stored current version and build match the
 * key serves that file to Envoys before validating, translating and encoding the version
 * again (seconds of CPU at 10,000 services). The version is then restored as without the file,
 * before any edit, and the fresh build is compared with the file byte for byte (publisher.ts,
 * servePersisted): equal is logged at info, different at error, and the fresh build is served.
 *
 * What this serves is what the same build made from the same validated version, as Envoys
 * connected before the restart were already sent. A file of another version, config, build,
 * or one that is torn or altered (sha256) is ignored and the start takes the long way.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { createHash } from 'node:crypto';
import { decodeSnapshotFile, encodeSnapshotFile, holdsSecrets } from '../cache/snapshot-file';
import type { Publisher } from '../control/publisher';
import type { Logger } from '../log';
import type { ConfigStore, VersionRecord } from '../store/types';

/** What a persisted snapshot was built from: all of it must match for the file to be served. */
export interface SnapshotKey {
  version: number;
  contentHash: string;
  createdAt: string;
  build: string;
}

export function servedSnapshotPath(dataDir: string): string {
  return path.join(dataDir, 'served-snapshot', 'envoy.snapshot');
}

let buildId: Promise<string> | undefined;

/**
 * This Tether build: every compiled file under src/ (path, size, modification time) and the
 * package's manifest and lock file. Any rebuild or dependency change makes another identity,
 * so a file written by another build is never served; a rebuild costs one long start. Read
 * with asynchronous stats (~700 files), so a restart reads it while the store reads the history.
 */
export function tetherBuildId(): Promise<string> {
  buildId ??= (async () => {
    const srcRoot = path.resolve(__dirname, '..');
    const entries = await fs.promises.readdir(srcRoot, { recursive: true, withFileTypes: true });
    const files = entries.filter((e) => e.isFile()).map((e) => path.join((e as { parentPath?: string }).parentPath ?? e.path, e.name));
    const packageRoot = path.resolve(srcRoot, '..', ...(path.basename(path.dirname(srcRoot)) === 'dist' ? ['..'] : []));
    files.push(path.join(packageRoot, 'package.json'), path.join(packageRoot, 'package-lock.json'));
    files.sort();
    const stats = await Promise.all(files.map((f) => fs.promises.stat(f, { bigint: true }).catch(() => undefined)));
    const hash = createHash('sha256');
    files.forEach((file, i) => {
      const stat = stats[i];
      hash.update(`${path.relative(packageRoot, file)}\0${stat ? `${stat.size}\0${stat.mtimeNs}` : 'missing'}\n`);
    });
    return hash.digest('hex');
  })();
  return buildId;
}

/**
 * The head start for openConfigManager: serves the persisted snapshot of `stored` when the
 * file's key matches it and this build. Returns whether it did.
 */
export function headStartFrom(dataDir: string, publisher: Publisher, logger: Logger, build: Promise<string> = tetherBuildId()): (stored: VersionRecord) => Promise<boolean> {
  // Unobserved until a file is there to compare it with (a first start has none).
  build.catch(() => undefined);
  return async (stored) => {
    if (!publisher.servePersisted) return false;
    const file = servedSnapshotPath(dataDir);
    let bytes: Buffer;
    try {
      bytes = fs.readFileSync(file);
    } catch {
      return false; // none (first start, crash, or written by a Tether without it)
    }
    const decoded = decodeSnapshotFile(bytes);
    if (!decoded.ok) {
      logger.warn({ file, reason: decoded.reason }, 'ignoring the persisted snapshot; building the stored version');
      return false;
    }
    const key = decoded.key as Partial<SnapshotKey> | null;
    const id = await build.catch(() => undefined);
    if (id === undefined) return false;
    const wanted: SnapshotKey = { version: stored.version, contentHash: stored.contentHash, createdAt: stored.createdAt, build: id };
    const stale = (Object.keys(wanted) as Array<keyof SnapshotKey>).filter((k) => key?.[k] !== wanted[k]);
    if (stale.length > 0 || decoded.snapshot.configVersion !== String(stored.version) || decoded.snapshot.target !== 'envoy') {
      logger.info({ file, version: stored.version, differs: stale }, 'the persisted snapshot is not of the stored version and this build; building the stored version');
      return false;
    }
    publisher.servePersisted(decoded.snapshot);
    logger.info({ file, version: stored.version }, 'serving the persisted snapshot of the stored version to Envoys while the version is validated and built');
    return true;
  };
}

/**
 * At shutdown: the served Envoy snapshot, keyed by its version (as the store lists it) and this
 * build. Not when it holds SDS secrets: listeners' private keys are read from their files and
 * never written anywhere else (such a restart takes the long way).
 */
export async function persistServedSnapshot(dataDir: string, publisher: Publisher, store: ConfigStore, logger: Logger, build = tetherBuildId()): Promise<void> {
  const served = publisher.served();
  const snapshot = served?.snapshots.get('envoy');
  if (!served || !snapshot) return;
  const file = servedSnapshotPath(dataDir);
  try {
    if (holdsSecrets(snapshot)) {
      await fs.promises.rm(file, { force: true });
      logger.info({ version: served.version }, 'not persisting the served snapshot: it holds TLS private keys (SDS secrets); the next start builds it');
      return;
    }
    const meta = (await store.list()).find((m) => m.version === served.version);
    if (!meta) return;
    const key: SnapshotKey = { version: meta.version, contentHash: meta.contentHash, createdAt: meta.createdAt, build: await build };
    await fs.promises.mkdir(path.dirname(file), { recursive: true, mode: 0o700 });
    // No fsync: a torn file fails its sha256 and costs one long start, nothing else.
    const tmp = `${file}.${process.pid}.tmp`;
    await fs.promises.writeFile(tmp, encodeSnapshotFile(snapshot, key), { mode: 0o600 });
    await fs.promises.rename(tmp, file);
  } catch (err) {
    logger.warn({ file, err: (err as Error).message }, 'could not persist the served snapshot; the next start builds it');
  }
}
