import * as fs from 'node:fs';
import * as path from 'node:path';
import * as protobuf from 'protobufjs';
import { findPackageRoot } from '../util/package-root';
import { addNewerEnvoyApi } from './newer-api';

/**
 * Envoy's API protos are read from the copy shipped inside @grpc/grpc-js-xds (the same
 * files the real xDS client decodes with), never vendored into this repository.
 */
const XDS_PACKAGE_DIR = path.dirname(require.resolve('@grpc/grpc-js-xds/package.json'));
const PROTOBUFJS_DIR = path.dirname(require.resolve('protobufjs/package.json'));

export const ENVOY_INCLUDE_DIRS: readonly string[] = [
  path.join(XDS_PACKAGE_DIR, 'deps', 'envoy-api'),
  path.join(XDS_PACKAGE_DIR, 'deps', 'xds'),
  path.join(XDS_PACKAGE_DIR, 'deps', 'googleapis'),
  path.join(XDS_PACKAGE_DIR, 'deps', 'protoc-gen-validate'),
  PROTOBUFJS_DIR,
];

/** Tether's own protos (admin API, sample replica): `protos/` at the package root. */
export const TETHER_PROTO_DIR = findPackageRoot(__dirname) + path.sep + 'protos';

/** Keep in sync with FILES in scripts/gen-types.sh (the generated TypeScript types). */
export const ENVOY_PROTO_FILES: readonly string[] = [
  'envoy/service/discovery/v3/ads.proto',
  'envoy/config/listener/v3/listener.proto',
  'envoy/config/route/v3/route.proto',
  'envoy/config/cluster/v3/cluster.proto',
  'envoy/config/endpoint/v3/endpoint.proto',
  'envoy/config/bootstrap/v3/bootstrap.proto',
  'envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager.proto',
  'envoy/extensions/filters/http/router/v3/router.proto',
  'envoy/extensions/filters/http/stateful_session/v3/stateful_session.proto',
  'envoy/extensions/http/stateful_session/cookie/v3/cookie.proto',
  'envoy/extensions/http/stateful_session/header/v3/header.proto',
  'envoy/extensions/filters/http/ext_proc/v3/ext_proc.proto',
  'envoy/service/ext_proc/v3/external_processor.proto',
  'envoy/extensions/load_balancing_policies/ring_hash/v3/ring_hash.proto',
  'envoy/extensions/load_balancing_policies/maglev/v3/maglev.proto',
  'envoy/extensions/upstreams/http/v3/http_protocol_options.proto',
  'envoy/extensions/transport_sockets/tls/v3/tls.proto',
  'envoy/extensions/retry/host/previous_hosts/v3/previous_hosts.proto',
  'envoy/extensions/access_loggers/stream/v3/stream.proto',
  'envoy/extensions/access_loggers/file/v3/file.proto',
  'envoy/extensions/transport_sockets/tls/v3/secret.proto',
];

function resolveIn(dirs: readonly string[], target: string): string {
  if (path.isAbsolute(target) && fs.existsSync(target)) return target;
  for (const dir of dirs) {
    const candidate = path.join(dir, target);
    if (fs.existsSync(candidate)) return candidate;
  }
  return target;
}

/** Loads proto files into a fresh protobufjs Root, keeping snake_case field names. */
export function loadRoot(files: readonly string[], includeDirs: readonly string[]): protobuf.Root {
  const root = new protobuf.Root();
  root.resolvePath = (_origin, target) => resolveIn(includeDirs, target);
  root.loadSync(files.map((f) => resolveIn(includeDirs, f)), { keepCase: true });
  root.resolveAll();
  return root;
}

let envoyRoot: protobuf.Root | undefined;

/**
 * The Envoy API (plus validate annotations), loaded once per process (~0.7 s), with the fields
 * of newer Envoys that the bundled protos lack (newer-api.ts).
 */
export function getEnvoyRoot(): protobuf.Root {
  envoyRoot ??= addNewerEnvoyApi(loadRoot(ENVOY_PROTO_FILES, ENVOY_INCLUDE_DIRS));
  return envoyRoot;
}

export function lookupEnvoyType(fullName: string): protobuf.Type {
  return getEnvoyRoot().lookupType(fullName);
}
