import type { AccessLogSpec, ListenerSpec } from '../model/types';
import type { HttpConnectionManager, Listener, Secret } from '../envoy/messages';
import type { TlsMaterial } from '../model/resolved';
import type { AccessLog } from '../generated/envoy/config/accesslog/v3/AccessLog';
import type { Struct } from '../generated/google/protobuf/Struct';
import type { TransportSocket } from '../generated/envoy/config/core/v3/TransportSocket';
import { pack } from '../envoy/encode';
import {
  DOWNSTREAM_TLS_TYPE,
  FILE_ACCESS_LOG,
  FILE_ACCESS_LOG_TYPE,
  STDOUT_ACCESS_LOG,
  STDOUT_ACCESS_LOG_TYPE,
  TLS_TRANSPORT_SOCKET,
  listenerSecretName,
} from './names';
import { byName, durationFromMs } from './proto-values';

/**
 * What an Envoy listener gets beyond routing: the edge settings of its ListenerSpec
 * (docs/listener-reference.md). Envoy nodes only; gRPC's api_listeners carry none of this.
 */

/** The HCM fields that decide the client address, limits, timeouts and the access log. */
export function hcmEdgeFields(listener: ListenerSpec): Partial<HttpConnectionManager> {
  const { limits, timeouts, clientAddress } = listener;
  const out: Partial<HttpConnectionManager> = {};
  if (clientAddress) {
    // The peer is the client unless trustedHops says proxies in front appended to
    // X-Forwarded-For; Envoy then also strips x-envoy-* headers from external clients.
    out.use_remote_address = { value: true };
    if (clientAddress.trustedHops > 0) out.xff_num_trusted_hops = clientAddress.trustedHops;
  }
  if (limits || timeouts) {
    out.common_http_protocol_options = {
      ...(timeouts ? { idle_timeout: durationFromMs(timeouts.idleMs) } : {}),
      ...(limits ? { max_headers_count: { value: limits.maxHeaders } } : {}),
    };
  }
  if (limits) out.max_request_headers_kb = { value: limits.maxRequestHeadersKb };
  if (timeouts) {
    out.stream_idle_timeout = durationFromMs(timeouts.streamIdleMs);
    out.request_timeout = durationFromMs(timeouts.requestMs);
    out.request_headers_timeout = durationFromMs(timeouts.requestHeadersMs);
  }
  if (listener.accessLog) out.access_log = [accessLog(listener.accessLog)];
  return out;
}

/** The Listener's own field: the per-connection buffer limit. */
export function listenerEdgeFields(listener: ListenerSpec): Pick<Listener, 'per_connection_buffer_limit_bytes'> {
  return listener.limits ? { per_connection_buffer_limit_bytes: { value: listener.limits.connectionBufferBytes } } : {};
}

/**
 * TLS termination: the certificate comes by SDS over the ADS stream (Tether serves it as the
 * Secret `listenerSecretName(listener)`), so a rotated file reaches Envoy without touching the
 * listener (no drain, no restart).
 */
export function downstreamTls(listener: ListenerSpec): TransportSocket | undefined {
  if (!listener.tls) return undefined;
  return {
    name: TLS_TRANSPORT_SOCKET,
    typed_config: pack(DOWNSTREAM_TLS_TYPE, {
      common_tls_context: {
        tls_certificate_sds_secret_configs: [{ name: listenerSecretName(listener.name), sds_config: { ads: {}, resource_api_version: 'V3' } }],
        // The HCM's codec is AUTO: offer HTTP/2 to clients that can, HTTP/1.1 to the rest.
        alpn_protocols: ['h2', 'http/1.1'],
      },
    }),
  };
}

/**
 * The SDS Secrets of the TLS listeners whose files were read: certificate and key inline (Envoy
 * reads no file of Tether's machine). A listener without material gets none, and Envoy keeps it
 * warming rather than serve it without a certificate.
 */
export function listenerSecrets(listeners: readonly ListenerSpec[], tls: TlsMaterial): Secret[] {
  const out: Secret[] = [];
  for (const listener of listeners) {
    const pair = listener.tls ? tls.get(listener.name) : undefined;
    if (!pair) continue;
    out.push({
      name: listenerSecretName(listener.name),
      tls_certificate: { certificate_chain: { inline_string: pair.certificateChain }, private_key: { inline_string: pair.privateKey } },
    });
  }
  return out.sort(byName);
}

/**
 * The JSON access log's fields. `client` is the address Envoy attributes the request to (after
 * X-Forwarded-For handling: what a clientIp key hashes), `peer` the connection's. No cookies,
 * no authorization: a log line must not carry credentials.
 */
const JSON_FIELDS: ReadonlyArray<[string, string]> = [
  ['time', '%START_TIME%'],
  ['method', '%REQ(:METHOD)%'],
  ['path', '%REQ(X-ENVOY-ORIGINAL-PATH?:PATH)%'],
  ['protocol', '%PROTOCOL%'],
  ['status', '%RESPONSE_CODE%'],
  ['flags', '%RESPONSE_FLAGS%'],
  ['details', '%RESPONSE_CODE_DETAILS%'],
  ['bytes_in', '%BYTES_RECEIVED%'],
  ['bytes_out', '%BYTES_SENT%'],
  ['duration_ms', '%DURATION%'],
  ['client', '%DOWNSTREAM_REMOTE_ADDRESS_WITHOUT_PORT%'],
  ['peer', '%DOWNSTREAM_DIRECT_REMOTE_ADDRESS%'],
  ['authority', '%REQ(:AUTHORITY)%'],
  ['user_agent', '%REQ(USER-AGENT)%'],
  ['request_id', '%REQ(X-REQUEST-ID)%'],
  ['route', '%ROUTE_NAME%'],
  ['upstream_cluster', '%UPSTREAM_CLUSTER%'],
  ['upstream_host', '%UPSTREAM_HOST%'],
];

function jsonFormat(): Struct {
  return { fields: Object.fromEntries(JSON_FIELDS.map(([key, op]) => [key, { stringValue: op }])) };
}

function accessLog(spec: AccessLogSpec): AccessLog {
  // Text: Envoy's default format (no log_format).
  const logFormat = spec.format === 'json' ? { log_format: { json_format: jsonFormat() } } : {};
  if (spec.path === undefined) {
    return { name: STDOUT_ACCESS_LOG, typed_config: pack(STDOUT_ACCESS_LOG_TYPE, logFormat) };
  }
  return { name: FILE_ACCESS_LOG, typed_config: pack(FILE_ACCESS_LOG_TYPE, { path: spec.path, ...logFormat }) };
}
