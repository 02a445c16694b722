/**
 * The admin API's proto, loaded once with the options the generated types assume: one
 * package definition for the server and reflection, one client factory for the tests and
 * the CLI (which wraps it in src/cli/admin-client.ts).
 */
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { TETHER_PROTO_DIR } from '../envoy/protos';
import type { ProtoGrpcType } from '../generated/tether/admin';
import type { AdminClient } from '../generated/tether/tether/admin/v1/Admin';

export type { AdminClient, AdminHandlers } from '../generated/tether/tether/admin/v1/Admin';

export const ADMIN_PROTO_FILE = 'tether/admin/v1/admin.proto';
export const ADMIN_SERVICE_NAME = 'tether.admin.v1.Admin';

/**
 * The options the generated types were made with (scripts/gen-types.sh), so received
 * messages match their `__Output` types: uint64 as decimal strings, enums by name,
 * absent fields at their defaults, `kind` naming the set member of a oneof.
 */
export const ADMIN_LOADER_OPTIONS = {
  keepCase: true,
  longs: String,
  enums: String,
  defaults: true,
  oneofs: true,
  json: true,
} as const;

let definition: protoLoader.PackageDefinition | undefined;
let loaded: ProtoGrpcType['tether']['admin']['v1'] | undefined;

/** The admin API's package definition (for the server, and for reflection). */
export function adminPackageDefinition(): protoLoader.PackageDefinition {
  definition ??= protoLoader.loadSync(ADMIN_PROTO_FILE, { ...ADMIN_LOADER_OPTIONS, includeDirs: [TETHER_PROTO_DIR] });
  return definition;
}

/**
 * What reflection describes: the admin API plus the standard health service, so
 * `grpcurl <host> list` shows both and `grpcurl … grpc.health.v1.Health/Check` needs no
 * proto file.
 */
export function reflectedPackageDefinition(): protoLoader.PackageDefinition {
  // Required here, not at the top: the package parses its proto when loaded, which every
  // CLI command would pay for though only the server reflects.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { protoPath: HEALTH_PROTO_PATH } = require('grpc-health-check') as typeof import('grpc-health-check');
  const health = protoLoader.loadSync(HEALTH_PROTO_PATH, { keepCase: true, longs: String, enums: String, defaults: true, oneofs: true });
  return { ...health, ...adminPackageDefinition() };
}

/** The typed admin package (client constructor and message definitions), loaded once. */
export function adminProto(): ProtoGrpcType['tether']['admin']['v1'] {
  loaded ??= (grpc.loadPackageDefinition(adminPackageDefinition()) as unknown as ProtoGrpcType).tether.admin.v1;
  return loaded;
}

/** An admin API client for `host:port`; insecure unless credentials are given. */
export function createAdminClient(
  target: string,
  credentials: grpc.ChannelCredentials = grpc.credentials.createInsecure(),
  options?: grpc.ChannelOptions,
): AdminClient {
  return new (adminProto().Admin)(target, credentials, options);
}
