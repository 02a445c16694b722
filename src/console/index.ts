/**
 * The web console (read-only): a page served by `tether serve` on the metrics HTTP port under
 * /console/, over a small JSON API made of the admin service's own functions.
 */
import * as path from 'node:path';
import type * as http from 'node:http';
import { createAuthCheck, type AdminAuth } from '../admin/auth';
import { createExplainSource } from '../admin/explain-source';
import type { ConfigManagerApi } from '../control/types';
import type { Logger } from '../log';
import type { LookupFn } from '../resolve/resolver';
import type { VersionRecord } from '../store/types';
import { findPackageRoot } from '../util/package-root';
import type { NodeRegistry } from '../xds/node-status';
import { createConsoleApi } from './api';
import { createChangeFeed } from './change-feed';
import { CONSOLE_PREFIX, createConsoleHandler } from './handler';

export { CONSOLE_PREFIX } from './handler';

export interface ConsoleOptions {
  manager: ConfigManagerApi;
  registry: NodeRegistry;
  /** The admin API's auth: the same bearer tokens (or none, with --no-admin-auth). */
  auth: AdminAuth;
  /** Loopback clients need no token (`--console-open`). */
  open?: boolean;
  readVersion(version: number): Promise<VersionRecord | undefined>;
  lookup?: LookupFn;
  logger: Logger;
  /** Default: dist/console in the package root. */
  assetsDir?: string;
}

export interface WebConsole {
  /** The prefix the handler answers under. */
  readonly prefix: string;
  handle(req: http.IncomingMessage, res: http.ServerResponse): void;
  /** Ends open event streams. */
  close(): void;
}

export function defaultAssetsDir(): string {
  return path.join(findPackageRoot(), 'dist', 'console');
}

export function createWebConsole(options: ConsoleOptions): WebConsole {
  const source = createExplainSource({ manager: options.manager, logger: options.logger, ...(options.lookup ? { lookup: options.lookup } : {}) });
  const api = createConsoleApi({ manager: options.manager, registry: options.registry, source, readVersion: options.readVersion });
  const feed = createChangeFeed({ version: () => options.manager.current().version, onNodeChange: (fn) => options.registry.onChange(fn) });
  const handle = createConsoleHandler({
    api,
    feed,
    auth: createAuthCheck(options.auth),
    open: options.open === true,
    assetsDir: options.assetsDir ?? defaultAssetsDir(),
    logger: options.logger,
  });
  return { prefix: CONSOLE_PREFIX, handle, close: () => feed.close() };
}
