/** Translation warnings of the served config, per node kind (src/control/config-warnings.ts). */
import { Gauge, type Registry } from 'prom-client';
import type { NodeKind } from '../model/node-targets';

export interface ConfigWarningMetrics {
  servedWarnings(counts: Readonly<Record<NodeKind, number>>): void;
}

export function createConfigWarningMetrics(registry: Registry): ConfigWarningMetrics {
  const gauge = new Gauge({
    name: 'tether_config_warnings',
    help: 'Translation warnings of the served config for a node kind: things left out or replaced for it (see the serve log or `tether validate` for each).',
    labelNames: ['kind'],
    registers: [registry],
  });
  return {
    servedWarnings(counts) {
      for (const [kind, n] of Object.entries(counts)) gauge.set({ kind }, n);
    },
  };
}
