import type { Publisher, PreparedConfig } from '../../src/control/publisher';
import { makeRendition } from '../../src/control/rendition';
import type { TetherConfig } from '../../src/model/types';

/**
 * A publisher that builds no Envoy resources (every rendition is empty): for tests and benches
 * of the config side of an edit alone (validation, hashing, the store), where translating is
 * not what is looked at. The real publisher's output is checked by rendition-property.test.ts.
 */
export function nullPublisher(): Publisher {
  let served: PreparedConfig['rendition'] | undefined;
  const prepared = (config: TetherConfig, version: number): PreparedConfig => {
    const rendition = makeRendition({ version, config, endpoints: new Map(), tls: new Map(), resources: new Map(), snapshots: new Map(), warnings: [] } as never);
    return { version, rendition, resources: new Map(), snapshots: new Map(), warnings: [], publish: () => void (served = rendition), discard: async () => undefined };
  };
  return { prepare: async (c, v) => prepared(c, v), render: async (c, v) => prepared(c, v).rendition, served: () => served, settled: async () => undefined, close: () => undefined };
}
