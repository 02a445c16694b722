/**
 * The certificate and key files of TLS listeners, read for SDS (translate/listener-edge.ts):
 * like DNS names in endpoints, they are the outside world a config points at, so they are read
 * here and handed to the pure translation. Files are read under the secrets-directory rules of
 * src/util/secret-files.ts (regular files inside it, size-capped, non-blocking) and checked
 * before Envoy sees them: the certificate parses, the key parses, and the key belongs to the
 * certificate. Re-read every few seconds: a changed pair that checks out is published (Envoy
 * swaps the certificate without a restart or a listener drain); one that does not keeps the last
 * good pair in use, logged. Key material never appears in a log line or an error message.
 */
import { createHash, createPrivateKey, X509Certificate } from 'node:crypto';
import type { Logger } from 'pino';
import type { ListenerSpec, TetherConfig } from '../model/types';
import type { TlsMaterial, TlsPair } from '../model/resolved';
import { readSecretFile } from '../util/secret-files';

export type { TlsMaterial, TlsPair };

export interface TlsFileProblem {
  /** `listeners[<index>].tls.certificate` or `.privateKey`. */
  path: string;
  message: string;
}

export class TlsFilesError extends Error {
  constructor(readonly problems: TlsFileProblem[]) {
    super(problems.map((p) => `${p.path}: ${p.message}`).join('\n'));
    this.name = 'TlsFilesError';
  }
}

export interface TlsFileSourceOptions {
  /** Called after a periodic re-read whose result differs from {@link TlsFileSource.current}. */
  onChange: (material: TlsMaterial) => void;
  /** How often the files are re-read. Default 2 s. */
  intervalMs?: number;
  logger?: Logger;
}

export interface TlsFileSource {
  /**
   * Makes `config` the one to watch and reads every listener's files now. Throws TlsFilesError
   * naming each field whose file cannot be read or does not check out: a config is not served
   * with a certificate Envoy would refuse.
   */
  setConfig(config: TetherConfig): Promise<TlsMaterial>;
  current(): TlsMaterial;
  close(): void;
}

const DEFAULT_INTERVAL_MS = 2_000;
export const EMPTY_TLS: TlsMaterial = new Map();

/** A fingerprint for logs: which pair is in use, without showing any of it. */
export function pairFingerprint(pair: TlsPair): string {
  return createHash('sha256').update(pair.certificateChain).digest('hex').slice(0, 12);
}

/** Reads and checks one listener's pair; problems name the field. */
async function readPair(listener: TlsListener, index: number): Promise<TlsPair | TlsFileProblem[]> {
  const at = `listeners[${index}].tls`;
  const problems: TlsFileProblem[] = [];
  const read = async (file: string, field: string): Promise<string | undefined> => {
    try {
      return (await readSecretFile(file)).data.toString('utf8');
    } catch (err) {
      problems.push({ path: `${at}.${field}`, message: `${file} ${(err as Error).message}` });
      return undefined;
    }
  };
  const [certificateChain, privateKey] = await Promise.all([read(listener.tls.certificateFile, 'certificate'), read(listener.tls.privateKeyFile, 'privateKey')]);
  if (certificateChain === undefined || privateKey === undefined) return problems;
  let cert: X509Certificate | undefined;
  try {
    cert = new X509Certificate(certificateChain);
  } catch {
    problems.push({ path: `${at}.certificate`, message: `${listener.tls.certificateFile} is not a PEM certificate` });
  }
  let key: ReturnType<typeof createPrivateKey> | undefined;
  try {
    key = createPrivateKey(privateKey);
  } catch {
    // Never the error text: it may quote the file.
    problems.push({ path: `${at}.privateKey`, message: `${listener.tls.privateKeyFile} is not an unencrypted PEM private key` });
  }
  if (cert && key && !cert.checkPrivateKey(key)) {
    problems.push({ path: `${at}.privateKey`, message: `${listener.tls.privateKeyFile} is not the key of ${listener.tls.certificateFile}` });
  }
  return problems.length > 0 ? problems : { certificateChain, privateKey };
}

type TlsListener = ListenerSpec & { tls: NonNullable<ListenerSpec['tls']> };

/** The TLS listeners of a config, with their index (for error paths). */
function tlsListeners(config: TetherConfig): Array<[TlsListener, number]> {
  return config.listeners.flatMap((l, i): Array<[TlsListener, number]> => (l.tls !== undefined ? [[l as TlsListener, i]] : []));
}

function samePairs(a: TlsMaterial, b: TlsMaterial): boolean {
  if (a.size !== b.size) return false;
  for (const [name, pair] of a) {
    const other = b.get(name);
    if (!other || other.certificateChain !== pair.certificateChain || other.privateKey !== pair.privateKey) return false;
  }
  return true;
}

/** Every TLS listener's pair, read once (a dry run's; the source below keeps re-reading). */
export async function readTlsFiles(config: TetherConfig): Promise<TlsMaterial> {
  const out = new Map<string, TlsPair>();
  const problems: TlsFileProblem[] = [];
  for (const [listener, index] of tlsListeners(config)) {
    const got = await readPair(listener, index);
    if (Array.isArray(got)) problems.push(...got);
    else out.set(listener.name, got);
  }
  if (problems.length > 0) throw new TlsFilesError(problems);
  return out;
}

export function createTlsFileSource(options: TlsFileSourceOptions): TlsFileSource {
  const intervalMs = options.intervalMs ?? DEFAULT_INTERVAL_MS;
  let config: TetherConfig | undefined;
  let material: TlsMaterial = EMPTY_TLS;
  let timer: NodeJS.Timeout | undefined;
  let generation = 0;
  /** Last problem logged per listener, so a file that stays bad is logged once. */
  const reported = new Map<string, string>();

  const schedule = () => {
    if (timer) clearTimeout(timer);
    timer = undefined;
    if (!config || tlsListeners(config).length === 0) return;
    timer = setTimeout(() => void recheck(), intervalMs);
    timer.unref();
  };

  const recheck = async () => {
    const watched = config;
    const mine = generation;
    if (!watched) return;
    const next = new Map(material);
    for (const [listener, index] of tlsListeners(watched)) {
      const got = await readPair(listener, index);
      if (Array.isArray(got)) {
        const text = got.map((p) => `${p.path}: ${p.message}`).join('; ');
        if (reported.get(listener.name) !== text) {
          reported.set(listener.name, text);
          options.logger?.error({ listener: listener.name, problems: got }, 'TLS files changed but do not check out; KEEPING the certificate served now');
        }
        continue;
      }
      if (reported.delete(listener.name)) options.logger?.warn({ listener: listener.name }, 'TLS files check out again');
      const before = next.get(listener.name);
      if (!before || before.certificateChain !== got.certificateChain || before.privateKey !== got.privateKey) {
        options.logger?.info({ listener: listener.name, certificate: pairFingerprint(got) }, 'TLS certificate changed; publishing it over SDS');
      }
      next.set(listener.name, got);
    }
    if (mine !== generation) return; // a newer setConfig took over
    if (!samePairs(next, material)) {
      material = next;
      options.onChange(material);
    }
    schedule();
  };

  return {
    async setConfig(next) {
      const mine = ++generation;
      const out = await readTlsFiles(next);
      if (mine === generation) {
        config = next;
        material = out;
        reported.clear();
        schedule();
      }
      return out;
    },
    current: () => material,
    close() {
      generation++;
      config = undefined;
      if (timer) clearTimeout(timer);
      timer = undefined;
    },
  };
}
