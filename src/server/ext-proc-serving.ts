/**
 * The in-process ext_proc session-key server: the `affinity.sessionKey` policies of the config
 * being served, read live (an edit applies to the next request), its stats in the metrics.
 */
import type { ConfigManager } from '../control/config-manager';
import { policiesFromConfig, startExtProcServer, type ExtProcServer } from '../extproc';
import type { Logger } from '../log';
import type { TetherMetrics } from '../metrics';
import { DEFAULT_EXT_PROC_PORT, type ExtProcOptions } from './tether-options';

export async function startExtProc(
  options: ExtProcOptions,
  parts: { manager: ConfigManager; metrics: TetherMetrics; logger: Logger },
): Promise<ExtProcServer> {
  const { manager, metrics, logger } = parts;
  const extProc = await startExtProcServer({
    host: options.host ?? '0.0.0.0',
    port: options.port ?? DEFAULT_EXT_PROC_PORT,
    services: policiesFromConfig(() => manager.current().config),
    logger,
    observer: metrics.extProc.observer,
  });
  const service = extProc.service;
  metrics.extProc.bind(() => service.stats());
  return extProc;
}
