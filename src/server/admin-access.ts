/**
 * What the admin API and the web console share when `tether serve` starts them: the admin
 * token (or auth mode), and the console wired to the config manager, node registry and store.
 */
import { loadAdminToken, type AdminAuth } from '../admin';
import { createWebConsole, type WebConsole } from '../console';
import type { ConfigManager } from '../control/config-manager';
import type { Logger } from '../log';
import type { ConfigStore } from '../store/types';
import type { NodeRegistry } from '../xds/node-status';
import type { AdminOptions, TetherOptions } from './tether-options';

/**
 * The admin API's auth (the console uses the same): the options' own, else a bearer token from
 * the token file, TETHER_ADMIN_TOKEN or `<dataDir>/admin-token` (generated on first start).
 * Loaded once per start: the admin API and the console share it.
 */
export function resolveAdminAuth(options: false | AdminOptions | undefined, dataDir: string, logger: Logger): { auth: AdminAuth; tokenFile?: string } {
  const admin = options || {};
  if (admin.auth) return { auth: admin.auth };
  const token = loadAdminToken({ dataDir, ...(admin.tokenFile ? { tokenFile: admin.tokenFile } : {}) });
  // Say where the token is, never what it is.
  logger.info(
    { source: token.source, ...(token.path ? { path: token.path } : {}), created: token.created ?? false },
    token.source === 'env' ? 'admin API token from TETHER_ADMIN_TOKEN' : `admin API token in ${token.path}`,
  );
  return { auth: { mode: 'token' as const, tokens: [token.token] }, ...(token.path ? { tokenFile: token.path } : {}) };
}

export function startConsole(
  options: TetherOptions,
  manager: ConfigManager,
  registry: NodeRegistry,
  store: ConfigStore,
  access: { auth: AdminAuth },
  logger: Logger,
): WebConsole {
  const consoleOptions = options.console || {};
  return createWebConsole({
    manager,
    registry,
    auth: access.auth,
    open: consoleOptions.open === true,
    readVersion: (version) => store.get(version),
    logger,
    ...(options.lookup ? { lookup: options.lookup } : {}),
    ...(consoleOptions.assetsDir ? { assetsDir: consoleOptions.assetsDir } : {}),
  });
}

