/**
 * A Tether (Harness) with one real Envoy on its xDS port, and the hooks every such suite needs:
 * after each test Envoy's /stats show no update_rejected, after all Envoy, Tether and the
 * replicas are stopped. Call it in a describe body; start it in beforeAll.
 */
import { afterAll, afterEach } from 'vitest';
import type { TetherOptions } from '../../src/server/tether';
import { startEnvoy, type EnvoyProcess } from './envoy';
import { Harness } from './harness';

export interface EnvoyOnTether {
  readonly h: Harness;
  /** Starts Tether on `config`, then Envoy on it; resolves once Envoy listens on `port`. */
  start(config: unknown, port: number, options?: Partial<TetherOptions>): Promise<EnvoyProcess>;
}

export function withEnvoy(h: Harness = new Harness()): EnvoyOnTether {
  let envoy: EnvoyProcess | undefined;
  afterEach(async () => {
    await envoy?.expectNoRejections();
  });
  afterAll(async () => {
    await envoy?.close();
    await h.close();
  });
  return {
    h,
    async start(config, port, options = {}) {
      await h.start(config, options);
      envoy = await startEnvoy({ xdsPort: h.tether.xdsPort });
      await envoy.waitConnected();
      await envoy.waitListening(port);
      return envoy;
    },
  };
}
