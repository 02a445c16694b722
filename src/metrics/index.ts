/**
 * metrics/: Prometheus metrics for Tether (prom-client, on a Registry of its own).
 *
 * Wiring: `const metrics = createTetherMetrics()`; give the ADS server
 * `status: combineListeners(registry, metrics.listener)`; on each publish call
 * `metrics.configPublished(version)`, `metrics.snapshotPublished(snapshot)` per kind and
 * `metrics.servedConfigChanged(publisher.served())`; serve with
 * `startMetricsServer({ host, port, metrics, logger, readiness })` (`GET /metrics`, `/healthz`, `/readyz`).
 *
 * | Metric | Type | Labels | Meaning |
 * |---|---|---|---|
 * | `tether_xds_connected_nodes` | gauge | `kind` (envoy, grpc) | Open ADS streams (SotW and delta) whose node has identified itself. |
 * | `tether_xds_pushes_total` | counter | `kind`, `type` (listener, route, cluster, endpoint, secret, virtual_host: VHDS) | xDS responses sent. |
 * | `tether_xds_acks_total` | counter | `kind`, `type` | Responses ACKed, plus versions a reconnecting node says it already holds. |
 * | `tether_xds_nacks_total` | counter | `kind`, `type` | Responses NACKed. |
 * | `tether_xds_convergence_seconds` | histogram | `kind` | Time from `configPublished(version)` until a stream has applied that version (every subscribed type ACKed). Buckets 1 ms … 10 s. Streams opened after the publish are not counted (they measure their connection, not the push); only the last 16 published versions are timed. |
 * | `tether_config_encoded_bytes` | gauge | `kind`, `type` | Encoded bytes (google.protobuf.Any) of the resources of one type in the published snapshot; `sum by (kind)` is the whole config. |
 * | `tether_config_resources` | gauge | `kind`, `type` | Resources of one type in the published snapshot. |
 * | `tether_replica_session_share_ratio` (deprecated alias `tether_replica_session_share`, one release) | gauge | `service`, `cluster`, `replica` (ip:port) | Share 0..1 of the hash space, hence of sessions, a replica of a consistent-hash (RING_HASH/MAGLEV) cluster gets on Envoy nodes, for each service routing to it; sums to 1 per service and cluster. Exact ring arcs / maglev slots from src/affinity; large configs show nominal weight shares until the exact ones are computed in ~20 ms slices in the background, large rings/tables on the compute worker thread (session-share.ts; `sessionSharesSettled()` resolves when done). Gone replicas and clusters are dropped. |
 * | `tether_build_info`, `tether_config_version`, `tether_config_applied_timestamp_seconds`, `tether_config_rejected_total`, `tether_dns_lookup_failures_total`, `tether_xds_nodes_behind` | | | config-state.ts: build, served version and when it was accepted, refused edits, DNS failures, nodes behind. |
 * | `tether_extproc_*` | | | ext-proc.ts: the in-process ext_proc server's decisions, keys by source, message latency, stream outcomes, errors. |
 * | `process_*`, `nodejs_*` | various | — | prom-client's default process metrics: CPU, memory, heap, event-loop lag, GC, handles. |
 */
export { createTetherMetrics, type TetherMetrics, type TetherMetricsOptions } from './tether-metrics';
export { combineListeners } from './combine-listeners';
export { startMetricsServer, type MetricsServer, type MetricsServerOptions, type ReadinessCheck } from './server';
export { DEFAULT_SHARE_SLICE_MS, type ServedResources } from './session-share';
export { CONVERGENCE_BUCKETS, DEFAULT_PUBLISHED_VERSIONS_KEPT } from './xds-listener';
