/**
 * What an operator should hear about at start: settings that work but expose the control
 * plane. Each is a warning, not a refusal (a lab may want exactly that), logged once.
 */
import * as fs from 'node:fs';
import type { Logger } from '../log';
import { isLoopbackHost } from '../util/loopback';

export interface ExposureFacts {
  /** Where the admin API listens, and whether with TLS; undefined when it is off. */
  admin?: { host: string; tls: boolean };
  /** The data dir (config history, generated token). */
  dataDir?: string;
  /** The admin token file, when the token comes from a file. */
  tokenFile?: string;
}

export interface Exposure {
  message: string;
  fields: Record<string, unknown>;
}

function modeOf(file: string): number | undefined {
  try {
    return fs.statSync(file).mode & 0o777;
  } catch {
    return undefined;
  }
}

/** The exposures `facts` show, as log lines; pure but for stat(). */
export function exposures(facts: ExposureFacts): Exposure[] {
  const out: Exposure[] = [];
  if (facts.admin && !facts.admin.tls && !isLoopbackHost(facts.admin.host)) {
    out.push({
      message: `the admin API listens on ${facts.admin.host} without TLS: bearer tokens and configs cross the network in clear (use --admin-tls-cert/--admin-tls-key, or a loopback address)`,
      fields: { host: facts.admin.host },
    });
  }
  const dirMode = facts.dataDir ? modeOf(facts.dataDir) : undefined;
  if (facts.dataDir && dirMode !== undefined && (dirMode & 0o022) !== 0) {
    out.push({
      message: `the data dir ${facts.dataDir} is group- or world-writable (mode ${dirMode.toString(8)}): anyone in that group can rewrite the config history; chmod 700 it`,
      fields: { dataDir: facts.dataDir, mode: dirMode.toString(8) },
    });
  }
  const tokenMode = facts.tokenFile ? modeOf(facts.tokenFile) : undefined;
  if (facts.tokenFile && tokenMode !== undefined && (tokenMode & 0o044) !== 0) {
    out.push({
      message: `the admin token file ${facts.tokenFile} is group- or world-readable (mode ${tokenMode.toString(8)}): whoever reads it can change routing; chmod 600 it`,
      fields: { tokenFile: facts.tokenFile, mode: tokenMode.toString(8) },
    });
  }
  return out;
}

export function warnExposures(facts: ExposureFacts, logger: Logger): void {
  for (const e of exposures(facts)) logger.warn(e.fields, e.message);
}
