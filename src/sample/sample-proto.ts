import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { TETHER_PROTO_DIR } from '../envoy/protos';
import type { ProtoGrpcType } from '../generated/tether/sample';
import type { SampleServiceClient } from '../generated/tether/tether/sample/v1/SampleService';

export type { HelloReply, HelloReply__Output } from '../generated/tether/tether/sample/v1/HelloReply';
export type { HelloRequest, HelloRequest__Output } from '../generated/tether/tether/sample/v1/HelloRequest';
export type { SampleServiceClient, SampleServiceHandlers } from '../generated/tether/tether/sample/v1/SampleService';

export const SAMPLE_PROTO_FILE = 'tether/sample/v1/sample.proto';

let loaded: ProtoGrpcType['tether']['sample']['v1'] | undefined;

/**
 * The sample service's gRPC definitions, loaded once per process with the same options the
 * generated types were made with (so `user` is `string`, never undefined, on received messages).
 */
export function sampleProto(): ProtoGrpcType['tether']['sample']['v1'] {
  if (!loaded) {
    const definition = protoLoader.loadSync(SAMPLE_PROTO_FILE, {
      includeDirs: [TETHER_PROTO_DIR],
      keepCase: true,
      longs: String,
      enums: String,
      defaults: true,
      oneofs: true,
    });
    loaded = (grpc.loadPackageDefinition(definition) as unknown as ProtoGrpcType).tether.sample.v1;
  }
  return loaded;
}

/**
 * A client for a replica's gRPC port (`host:port`), or for `xds:///name` when
 * @grpc/grpc-js-xds is registered. Insecure unless credentials are given.
 */
export function createSampleClient(
  target: string,
  credentials: grpc.ChannelCredentials = grpc.credentials.createInsecure(),
  options?: grpc.ChannelOptions,
): SampleServiceClient {
  return new (sampleProto().SampleService)(target, credentials, options);
}
