import * as grpc from '@grpc/grpc-js';
import type { Logger } from 'pino';
import type { SnapshotSource } from '../cache/snapshot-cache';
import {
  decodeDiscoveryRequest,
  encodeControlPlane,
  encodeDiscoveryResponse,
  type DiscoveryRequestIn,
  type DiscoveryResponseOut,
} from './discovery-codec';
import type { NodeStatusListener } from './node-status';
import { SotwStream } from './sotw-stream';

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
}

export interface AdsService {
  /** Hand-made service definition: protobufjs-decoded requests, concatenation-encoded responses. */
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

type AdsCall = grpc.ServerDuplexStream<DiscoveryRequestIn, DiscoveryResponseOut>;

function method<Req>(name: string, requestDeserialize: (bytes: Buffer) => Req): grpc.MethodDefinition<Req, DiscoveryResponseOut> {
  return {
    path: `/${ADS_SERVICE_NAME}/${name}`,
    requestStream: true,
    responseStream: true,
    requestSerialize: () => {
      throw new Error('the ADS server does not serialize requests');
    },
    requestDeserialize,
    responseSerialize: encodeDiscoveryResponse,
    responseDeserialize: () => {
      throw new Error('the ADS server does not deserialize responses');
    },
  };
}

let streamCounter = 0;

/** The SotW ADS service over a snapshot source. Add it with `server.addService(definition, implementation)`. */
export function createAdsService(options: AdsServerOptions): AdsService {
  const controlPlane = encodeControlPlane(options.controlPlaneId ?? 'tether');
  /** Open streams → ends the call with UNAVAILABLE. */
  const open = new Map<SotwStream, () => void>();
  let closing = false;

  const endWithError = (call: AdsCall, code: grpc.status, details: string): void => {
    // grpc-js turns an 'error' event on a server stream into the call's final status.
    call.emit('error', { code, details } satisfies Partial<grpc.StatusObject>);
  };

  const streamAggregatedResources = (call: AdsCall): void => {
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
    const stream = new SotwStream({
      streamId: `ads-${++streamCounter}`,
      cache: options.cache,
      logger: options.logger,
      status: options.status,
      controlPlane,
      // No backpressure handling needed: SotW flow control keeps at most one response per
      // type in flight, so a slow client holds at most four responses in grpc-js's buffer.
      send: (response) => {
        if (!ended && !call.cancelled) call.write(response);
      },
      fail: (code, details) => end(code, details),
    });
    open.set(stream, () => end(grpc.status.UNAVAILABLE, 'control plane shutting down'));
    const finish = (): void => {
      open.delete(stream);
      stream.close();
    };
    call.on('data', (request: DiscoveryRequestIn) => stream.handleRequest(request));
    call.on('end', () => {
      // The client half-closed: answer with OK and forget the stream.
      finish();
      end();
    });
    call.on('cancelled', finish);
    call.on('error', finish);
    call.on('close', finish);
  };

  const implementation: grpc.UntypedServiceImplementation = {
    StreamAggregatedResources: streamAggregatedResources as grpc.handleBidiStreamingCall<unknown, unknown>,
    DeltaAggregatedResources: ((call: AdsCall) =>
      endWithError(call, grpc.status.UNIMPLEMENTED, 'incremental (delta) xDS is not implemented yet; use SotW ADS')) as grpc.handleBidiStreamingCall<
      unknown,
      unknown
    >,
  };

  return {
    definition: {
      StreamAggregatedResources: method('StreamAggregatedResources', decodeDiscoveryRequest),
      // Delta requests are another message; they are never read, only refused.
      DeltaAggregatedResources: method('DeltaAggregatedResources', (bytes) => bytes),
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
