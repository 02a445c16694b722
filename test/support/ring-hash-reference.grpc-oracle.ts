/**
 * Drives the real ring_hash load balancer of @grpc/grpc-js-xds (through grpc-js's load
 * balancer registry) with fake, always-READY subchannels, and reports which address it picks
 * for a given request hash. Test-only: it lets the reference model in ring-hash-reference.ts
 * be checked against the client the integration tests actually run, without a network.
 *
 * It reaches into grpc-js's experimental/internal load-balancer API; if a grpc-js upgrade
 * breaks it, the differential test fails loudly rather than silently passing.
 */
import * as grpc from '@grpc/grpc-js';
import { register as registerXds } from '@grpc/grpc-js-xds';
import { createLoadBalancer } from '@grpc/grpc-js/build/src/load-balancer';
import type { ChannelControlHelper } from '@grpc/grpc-js/build/src/load-balancer';
import type { Picker } from '@grpc/grpc-js/build/src/picker';
import type { SubchannelInterface, ConnectivityStateListener } from '@grpc/grpc-js/build/src/subchannel-interface';
import type { SubchannelAddress } from '@grpc/grpc-js/build/src/subchannel-address';

const { PickResultType, parseLoadBalancingConfig, subchannelAddressToString } = grpc.experimental;

export interface OracleHost {
  ip: string;
  port: number;
  /** Sent as a locality endpoint's weight (locality weight 1), as grpc-js-xds's CDS policy does. */
  weight: number;
}

export interface GrpcRingOracle {
  /** The address (`ip:port`, IPv6 bracketed) grpc-js-xds picks for this request hash. */
  pick(hash: bigint): Promise<string>;
  close(): void;
}

function fakeReadySubchannel(address: SubchannelAddress): SubchannelInterface {
  const listeners = new Set<ConnectivityStateListener>();
  const text = subchannelAddressToString(address);
  const self: SubchannelInterface = {
    getConnectivityState: () => grpc.connectivityState.READY,
    addConnectivityStateListener: (l) => void listeners.add(l),
    removeConnectivityStateListener: (l) => void listeners.delete(l),
    startConnecting: () => undefined,
    getAddress: () => text,
    throttleKeepalive: () => undefined,
    ref: () => undefined,
    unref: () => undefined,
    getChannelzRef: () => ({ kind: 'subchannel', id: 0, name: text }) as never,
    isHealthy: () => true,
    addHealthStateWatcher: () => undefined,
    removeHealthStateWatcher: () => undefined,
    addDataWatcher: () => undefined,
    getRealSubchannel: () => self as never,
    realSubchannelEquals: (other) => other === self,
    getCallCredentials: () => grpc.credentials.createEmpty(),
    getChannel: () => {
      throw new Error('fake subchannel has no channel');
    },
  };
  return self;
}

/**
 * Builds grpc-js-xds's ring for `hosts` (in EDS order) with the given ring_hash config and
 * resolves once the balancer has published a picker built on the finished ring.
 */
export async function createGrpcRingOracle(
  hosts: readonly OracleHost[],
  config: { minRingSize: number; maxRingSize: number; ringSizeCap?: number },
): Promise<GrpcRingOracle> {
  registerXds();
  let picker: Picker | undefined;
  let published!: () => void;
  const firstPicker = new Promise<void>((resolve) => (published = resolve));
  const helper: ChannelControlHelper = {
    createSubchannel: (address) => fakeReadySubchannel(address),
    // The balancer stays quiet while it builds the ring (asynchronously, once xxhash-wasm has
    // loaded), then publishes a ring picker in IDLE: every leaf connects only when picked.
    updateState: (_state, newPicker) => {
      picker = newPicker;
      published();
    },
    requestReresolution: () => undefined,
    addChannelzChild: () => undefined,
    removeChannelzChild: () => undefined,
  };
  const lbConfig = parseLoadBalancingConfig({
    ring_hash: { min_ring_size: config.minRingSize, max_ring_size: config.maxRingSize },
  });
  const balancer = createLoadBalancer(lbConfig, helper);
  if (!balancer) throw new Error('ring_hash is not registered (GRPC_XDS_EXPERIMENTAL_ENABLE_RING_HASH=false?)');
  const endpoints = hosts.map((h) => ({
    addresses: [{ host: h.ip, port: h.port }],
    localityPath: ['priority-0', 'locality-0'],
    locality: { region: '', zone: '', sub_zone: '' },
    localityWeight: 1,
    endpointWeight: h.weight,
  }));
  const options = config.ringSizeCap === undefined ? {} : { 'grpc.lb.ring_hash.ring_size_cap': config.ringSizeCap };
  balancer.updateAddressList({ ok: true, value: endpoints }, lbConfig, options, 'oracle');
  await firstPicker;

  return {
    async pick(hash) {
      // A pick that lands on a leaf that has not connected yet starts it and queues; the
      // fake subchannel is READY at once, so a retry on the newest picker completes.
      for (let attempt = 0; attempt < 20; attempt++) {
        const result = picker!.pick({
          metadata: new grpc.Metadata(),
          extraPickInfo: { hash: hash.toString() },
        });
        if (result.pickResultType === PickResultType.COMPLETE && result.subchannel) {
          return result.subchannel.getAddress();
        }
        if (result.pickResultType !== PickResultType.QUEUE) {
          throw new Error(`grpc-js-xds pick failed: ${result.status?.details ?? result.pickResultType}`);
        }
        await new Promise((resolve) => setImmediate(resolve));
      }
      throw new Error(`grpc-js-xds did not complete a pick for hash ${hash}`);
    },
    close: () => balancer.destroy(),
  };
}
