/**
 * What the real grpc-js-xds ring-hash balancer is given: every (ring sizes, endpoints) update,
 * recorded as it calls through to the real `updateAddressList` (the LoadBalancer interface method
 * every config the channel applies goes through; its ring is built from exactly that).
 *
 * Traffic shows a wrong ring only if an RPC is picked while it is installed; this shows every
 * ring the client installs, however briefly, so a test can check them all whatever the timing.
 * Tied to @grpc/grpc-js-xds 1.14.1 (pinned): `start` throws if the balancer is not found there.
 */
import { registerXds } from './harness';

export interface RingUpdate {
  minRingSize: number;
  maxRingSize: number;
  /** `ip:port` of each endpoint, in order. */
  addresses: string[];
}

interface RingConfig {
  getMinRingSize(): number;
  getMaxRingSize(): number;
}
type EndpointList = { ok: true; value: Array<{ addresses: Array<{ host: string; port: number }> }> } | { ok: false };
type UpdateAddressList = (this: unknown, endpoints: EndpointList, config: RingConfig, ...rest: unknown[]) => boolean;

export interface RingUpdateRecorder {
  readonly updates: RingUpdate[];
  stop(): void;
}

export function recordRingUpdates(): RingUpdateRecorder {
  registerXds();
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const registry = require('@grpc/grpc-js/build/src/load-balancer') as {
    parseLoadBalancingConfig(raw: unknown): unknown;
    createLoadBalancer(config: unknown, helper: unknown): object | null;
  };
  const helper = { createSubchannel() {}, updateState() {}, requestReresolution() {}, addChannelzChild() {}, removeChannelzChild() {} };
  const probe = registry.createLoadBalancer(registry.parseLoadBalancingConfig({ ring_hash: {} }), helper);
  const proto = probe?.constructor.prototype as { updateAddressList?: UpdateAddressList } | undefined;
  const original = proto?.updateAddressList;
  if (!proto || !original) throw new Error('grpc-js-xds ring_hash balancer not found (has @grpc/grpc-js-xds changed?)');
  const updates: RingUpdate[] = [];
  proto.updateAddressList = function (this: unknown, endpoints, config, ...rest) {
    if (endpoints.ok) {
      updates.push({
        minRingSize: config.getMinRingSize(),
        maxRingSize: config.getMaxRingSize(),
        addresses: endpoints.value.map((e) => `${e.addresses[0]!.host}:${e.addresses[0]!.port}`),
      });
    }
    return original.call(this, endpoints, config, ...rest);
  };
  return {
    updates,
    stop: () => {
      proto.updateAddressList = original;
    },
  };
}
