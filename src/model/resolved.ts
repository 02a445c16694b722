/** What resolve/ produces from the model: addresses and TLS material read from files; translate/ consumes them. */

/** One upstream address after DNS resolution (EDS carries IPs only). */
export interface ResolvedEndpoint {
  ip: string;
  port: number;
  weight: number;
  /** The configured DNS name, when the endpoint came from one. */
  hostname?: string;
  /** The configured endpoint says `drain: true` (see EndpointSpec.drain). */
  drain?: boolean;
}

/** Backend name → its resolved endpoints, in config order. */
export type ResolvedEndpoints = ReadonlyMap<string, readonly ResolvedEndpoint[]>;

/** A TLS listener's certificate chain and private key, PEM, as read from its files (resolve/tls-files.ts). */
export interface TlsPair {
  readonly certificateChain: string;
  readonly privateKey: string;
}

/** Listener name → its pair; only listeners with `tls` whose files were read. */
export type TlsMaterial = ReadonlyMap<string, TlsPair>;
