/**
 * What Tether accepts from an xDS client and keeps of it. Anyone who reaches the xDS port can
 * open streams (it has no auth of its own; TLS with client certificates is the operator's
 * choice), so each cap bounds what one stream can cost in memory, CPU and log volume. Every
 * value is far above what Envoy or a gRPC client sends for the largest config Tether serves
 * (10,000 services: 10,000 EDS names of a few dozen bytes). README "Limits" documents them.
 */
export const XDS_LIMITS = {
  /** A whole request message (grpc-js refuses a larger one with RESOURCE_EXHAUSTED). */
  maxRequestBytes: 16 * 1024 * 1024,
  /** `type_url`, in bytes. The longest type Envoy knows is under 100. */
  maxTypeUrlBytes: 256,
  /** `version_info`, `response_nonce`, and each version in `initial_resource_versions`. Tether's are 16-32. */
  maxVersionBytes: 256,
  /** The encoded `node` (Envoy's, with its extension list and Istio-style metadata, is tens of KiB). */
  maxNodeBytes: 1024 * 1024,
  /** `node.id`, in characters (as WaitForRollout's node_ids). */
  maxNodeIdChars: 1024,
  /** `node.cluster`, `node.user_agent_name`/`_version`: kept for status and logs truncated to this. */
  maxNodeFieldChars: 256,
  /** One resource name, in bytes. Tether's own names are at most a few hundred. */
  maxResourceNameBytes: 1024,
  /**
   * Resource names per type: in one SotW request (the whole subscription), in a delta
   * stream's subscription (with `initial_resource_versions`), and in one delta request's
   * subscribe or unsubscribe list.
   */
  maxResourceNames: 50_000,
  /** The bytes of those names together. */
  maxResourceNamesTotalBytes: 2 * 1024 * 1024,
  /** Fields of a request that Tether does not read (e.g. `resource_locators`), per request. */
  maxSkippedFields: 1_000,
  /** `error_detail.message` of a NACK as the node registry keeps it (status, WaitForRollout), in characters. */
  maxErrorDetailChars: 4096,
  /** ... and as a log line carries it. */
  maxLoggedErrorDetailChars: 1024,
  /**
   * Warnings a client can cause at will (refused requests, requests for types Tether does not
   * serve, NACKs, a blocked config) are logged at most once per node (and type) per interval;
   * the next line that gets through says how many were held back.
   */
  logIntervalMs: 60_000,
  /** `xDS push` lines: at most one per stream and type per interval (a client changing its subscription causes one each time). */
  pushLogIntervalMs: 1_000,
  /**
   * CPU pacing: a stream may spend this much event-loop time on its requests in a burst, and
   * `pacedMsPerSecond` on average; beyond that its requests are read later (the client is
   * slowed by HTTP/2 flow control), so one stream cannot hold the loop other streams need.
   */
  pacingBurstMs: 250,
  pacedMsPerSecond: 100,
} as const;

/**
 * `text` cut to at most `max` characters (never inside a surrogate pair), with a note of its
 * full length. `cutFrom`: `text` is already the start of something longer (e.g. "2000000 bytes").
 */
export function truncateText(text: string, max: number, cutFrom?: string): string {
  if (text.length <= max && cutFrom === undefined) return text;
  const end = text.length <= max ? text.length : max > 0 && isHighSurrogate(text.charCodeAt(max - 1)) ? max - 1 : max;
  return `${text.slice(0, end)}… (${cutFrom ?? `${text.length} characters`} in all)`;
}

function isHighSurrogate(code: number): boolean {
  return code >= 0xd800 && code <= 0xdbff;
}
