import * as grpc from '@grpc/grpc-js';
import type { Logger } from 'pino';
import type { SnapshotSource } from '../cache/snapshot-cache';
import {
  encodeControlPlane,
  encodeDeltaDiscoveryResponse,
  encodeDiscoveryResponse,
} from './discovery-codec';
import { DeltaStream } from './delta-stream';
import type { DeltaDiscoveryRequestIn, DeltaDiscoveryResponseOut, DiscoveryRequestIn, DiscoveryResponseOut } from './discovery-codec';
import { XDS_LIMITS } from './limits';
import type { NodeStatusListener } from './node-status';
import { decodeDeltaDiscoveryRequest, decodeDiscoveryRequest, isRefused, type RefusedRequest } from './request-decoder';
import { SotwStream } from './sotw-stream';
import { createStreamLogLimits } from './stream-base';
import { createStreamPacer } from './stream-pacer';
import { StreamShares } from './stream-shares';

export const ADS_SERVICE_NAME = 'envoy.service.discovery.v3.AggregatedDiscoveryService';

export interface AdsServerOptions {
  /** Where streams read and watch each node kind's snapshot. */
  cache: SnapshotSource;
  /** Parent logger; each stream logs through a child with `node` and `kind`. */
  logger: Logger;
  /** Told about every stream, push, ACK and NACK (e.g. a NodeRegistry). */
  status?: NodeStatusListener;
  /** `control_plane.identifier` in every response. Default "tether". */
  controlPlaneId?: string;
  /**
   * Event-loop time a stream may spend on its requests: a burst, and on average per second
   * (default XDS_LIMITS.pacingBurstMs / pacedMsPerSecond). See stream-pacer.ts.
   */
  pacing?: { burstMs: number; msPerSecond: number };
}

/** Server options the ADS server relies on (the request size cap of XDS_LIMITS). */
export const ADS_SERVER_OPTIONS: grpc.ServerOptions = {
  'grpc.max_receive_message_length': XDS_LIMITS.maxRequestBytes,
};

export interface AdsService {
  /** Hand-made service definition: protobufjs-decoded requests, concatenation-encoded responses (SotW and delta). */
  readonly definition: grpc.ServiceDefinition;
  readonly implementation: grpc.UntypedServiceImplementation;
  /** Open streams. */
  readonly streamCount: number;
  /**
   * Ends every open stream with UNAVAILABLE and refuses new ones; clients reconnect
   * elsewhere. Call before `server.tryShutdown()`, which otherwise waits for the streams.
   */
  close(): void;
}

type AdsCall<Req = unknown, Res = unknown> = grpc.ServerDuplexStream<Req, Res>;

function method<Req, Res>(
  name: string,
  requestDeserialize: (bytes: Buffer) => Req,
  responseSerialize: (response: Res) => Buffer,
): grpc.MethodDefinition<Req, Res> {
  return {
    path: `/${ADS_SERVICE_NAME}/${name}`,
    requestStream: true,
    responseStream: true,
    requestSerialize: () => {
      throw new Error('the ADS server does not serialize requests');
    },
    requestDeserialize,
    responseSerialize,
    responseDeserialize: () => {
      throw new Error('the ADS server does not deserialize responses');
    },
  };
}

let streamCounter = 0;

/** What the server needs of a protocol's stream object. */
interface AdsStream<Req> {
  handleRequest(request: Req): void;
  close(): void;
  readonly nodeId: string | undefined;
}

/** The ADS service (SotW and delta) over a snapshot source. Add it with `server.addService(definition, implementation)`. */
export function createAdsService(options: AdsServerOptions): AdsService {
  const controlPlane = encodeControlPlane(options.controlPlaneId ?? 'tether');
  // Per-snapshot state and encoded responses, shared by all of this service's streams.
  const shares = new StreamShares(controlPlane);
  /** Open streams → ends the call with UNAVAILABLE. */
  const open = new Map<AdsStream<never>, () => void>();
  let closing = false;
  const logLimits = createStreamLogLimits();
  const pacing = options.pacing ?? { burstMs: XDS_LIMITS.pacingBurstMs, msPerSecond: XDS_LIMITS.pacedMsPerSecond };

  const endWithError = (call: AdsCall, code: grpc.status, details: string): void => {
    // grpc-js turns an 'error' event on a server stream into the call's final status.
    call.emit('error', { code, details } satisfies Partial<grpc.StatusObject>);
  };

  /** One ADS call of either protocol: the stream object does the protocol, this the call's lifecycle. */
  const serve = <Req, Res>(
    call: AdsCall<Req, Res>,
    create: (send: (response: Res) => void, fail: (code: grpc.status, details: string) => void, streamId: string) => AdsStream<Req>,
  ): void => {
    if (closing) {
      endWithError(call, grpc.status.UNAVAILABLE, 'control plane shutting down');
      return;
    }
    let ended = false;
    const end = (code?: grpc.status, details = ''): void => {
      if (ended) return;
      ended = true;
      if (code === undefined) call.end();
      else endWithError(call, code, details);
    };
    // Flow control: a type has at most one response in flight until the client ACKs it, so a
    // slow or stuck client holds at most four responses in grpc-js's buffer and delays nobody.
    const send = (response: Res) => {
      if (ended || call.cancelled) return;
      // Told when grpc-js has handed the write to HTTP/2's send (snapshot-cache.ts FIRST_WATCHERS).
      const written = options.cache.beginPush?.();
      if (written) call.write(response, written);
      else call.write(response);
    };
    const stream = create(send, (code, details) => end(code, details), `ads-${++streamCounter}`);
    const pacer = createStreamPacer(pacing.burstMs, pacing.msPerSecond);
    let resumeTimer: NodeJS.Timeout | undefined;
    open.set(stream, () => {
      clearTimeout(resumeTimer);
      end(grpc.status.UNAVAILABLE, 'control plane shutting down');
    });
    const finish = (): void => {
      clearTimeout(resumeTimer);
      open.delete(stream);
      stream.close();
    };
    const refuse = (request: RefusedRequest): void => {
      const peer = call.getPeer();
      // Before the node is known, a client is its address (without the port: every connection of it).
      const held = logLimits.warnings.admit(`${stream.nodeId ?? peer.slice(0, peer.lastIndexOf(':'))}\nrefused`);
      if (held !== undefined) {
        options.logger.warn({ node: stream.nodeId, peer, reason: request.details, ...(held > 0 ? { heldBack: held } : {}) }, 'xDS request refused');
      }
      end(grpc.status.INVALID_ARGUMENT, request.details);
      finish();
    };
    call.on('data', (request: Req | RefusedRequest) => {
      if (ended) return;
      if (isRefused(request)) return refuse(request);
      const started = performance.now();
      stream.handleRequest(request);
      const wait = pacer.charge(performance.now() - started);
      if (wait > 0 && !resumeTimer && !ended) {
        call.pause();
        resumeTimer = setTimeout(() => {
          resumeTimer = undefined;
          if (!ended) call.resume();
        }, wait);
        resumeTimer.unref();
      }
    });
    call.on('end', () => {
      // The client half-closed: answer with OK and forget the stream.
      finish();
      end();
    });
    call.on('cancelled', finish);
    call.on('error', finish);
    call.on('close', finish);
  };

  const common = (streamId: string, fail: (code: grpc.status, details: string) => void) => ({
    streamId,
    cache: options.cache,
    logger: options.logger,
    status: options.status,
    controlPlane,
    shares,
    fail,
    logLimits,
  });

  const implementation: grpc.UntypedServiceImplementation = {
    StreamAggregatedResources: ((call: AdsCall<DiscoveryRequestIn, DiscoveryResponseOut>) =>
      serve(call, (send, fail, streamId) => new SotwStream({ ...common(streamId, fail), send }))) as grpc.handleBidiStreamingCall<unknown, unknown>,
    DeltaAggregatedResources: ((call: AdsCall<DeltaDiscoveryRequestIn, DeltaDiscoveryResponseOut>) =>
      serve(call, (send, fail, streamId) => new DeltaStream({ ...common(streamId, fail), send }))) as grpc.handleBidiStreamingCall<unknown, unknown>,
  };

  return {
    definition: {
      // Responses arrive encoded (`wire`, shared by the streams that send them); grpc-js frames them.
      StreamAggregatedResources: method('StreamAggregatedResources', decodeDiscoveryRequest, (r: DiscoveryResponseOut) => r.wire ?? encodeDiscoveryResponse(r)),
      DeltaAggregatedResources: method('DeltaAggregatedResources', decodeDeltaDiscoveryRequest, (r: DeltaDiscoveryResponseOut) => r.wire ?? encodeDeltaDiscoveryResponse(r)),
    },
    implementation,
    get streamCount() {
      return open.size;
    },
    close() {
      closing = true;
      for (const [stream, endCall] of [...open]) {
        open.delete(stream);
        stream.close();
        endCall();
      }
    },
  };
}

/** Creates the ADS service and adds it to `server`. */
export function addAdsService(server: grpc.Server, options: AdsServerOptions): AdsService {
  const service = createAdsService(options);
  server.addService(service.definition, service.implementation);
  return service;
}
