export { startReplica, type Replica, type ReplicaOptions } from './replica';
export { type ReplicaStats, type ServeResult, MAX_USER_LENGTH } from './session-core';
export { type SampleHttpReply, MAX_BODY_BYTES } from './http-server';
export { createSampleClient, sampleProto, SAMPLE_PROTO_FILE } from './sample-proto';
export type { HelloReply, HelloReply__Output, HelloRequest, SampleServiceClient } from './sample-proto';
