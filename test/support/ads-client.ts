/**
 * A raw SotW ADS client for tests: sends DiscoveryRequests exactly as written and hands back
 * every DiscoveryResponse, so a test can play Envoy or grpc-js-xds (or a misbehaving client)
 * step by step. Encodes and decodes through the real Envoy protos.
 */
import * as grpc from '@grpc/grpc-js';
import { decodeMessage } from '../../src/envoy/encode';
import { messageNameOf } from '../../src/envoy/resource-types';
import type { Node } from '../../src/generated/envoy/config/core/v3/Node';
import { ResponseQueue } from './response-queue';
import { decodeDiscoveryResponse, encodeDiscoveryRequest, type DiscoveryResponseIn } from '../../src/xds/discovery-codec';

const ADS_PATH = '/envoy.service.discovery.v3.AggregatedDiscoveryService/StreamAggregatedResources';

export interface ReceivedResponse extends DiscoveryResponseIn {
  /** The response exactly as it came off the wire. */
  raw: Buffer;
}

export interface SendOptions {
  /** version_info (default ''). */
  version?: string;
  /** response_nonce (default ''). */
  nonce?: string;
  /** Makes the request a NACK with this error_detail.message. */
  errorDetail?: string;
}

export interface AdsClientOptions {
  /** Sent on the first request only, as real clients do. */
  node: Node;
  /** Default timeout of next()/nextOf(), ms. */
  timeoutMs?: number;
}

export class AdsClient {
  private readonly client: grpc.Client;
  private readonly call: grpc.ClientDuplexStream<Buffer, ReceivedResponse>;
  private readonly responses = new ResponseQueue<ReceivedResponse>('DiscoveryResponse');
  private sentNode = false;
  /** Per type: names of the last request and the last version ACKed, for ack()/nack(). */
  private readonly names = new Map<string, readonly string[]>();
  private readonly acked = new Map<string, string>();
  readonly status: Promise<grpc.StatusObject>;

  constructor(
    address: string,
    private readonly options: AdsClientOptions,
  ) {
    this.client = new grpc.Client(address, grpc.credentials.createInsecure());
    this.call = this.client.makeBidiStreamRequest(
      ADS_PATH,
      (b: Buffer) => b,
      (raw: Buffer) => ({ ...decodeDiscoveryResponse(raw), raw }),
    );
    this.call.on('data', (r: ReceivedResponse) => this.responses.push(r));
    this.call.on('error', () => {
      /* reported through `status` */
    });
    this.status = new Promise((resolve) => {
      this.call.on('status', (s: grpc.StatusObject) => {
        this.responses.end(new Error(`ADS stream ended: ${grpc.status[s.code]} ${s.details}`));
        resolve(s);
      });
    });
  }

  /** Sends one DiscoveryRequest. The node goes with the first request only. */
  send(typeUrl: string, names: readonly string[], opts: SendOptions = {}): void {
    this.names.set(typeUrl, names);
    this.call.write(
      encodeDiscoveryRequest({
        node: this.sentNode ? null : this.options.node,
        type_url: typeUrl,
        resource_names: [...names],
        version_info: opts.version ?? '',
        response_nonce: opts.nonce ?? '',
        error_detail: opts.errorDetail !== undefined ? { code: grpc.status.INVALID_ARGUMENT, message: opts.errorDetail } : null,
      }),
    );
    this.sentNode = true;
  }

  /**
   * Writes an already encoded DiscoveryRequest (bytes no encoder would produce, or a huge request built
   * cheaply); resolves once written or the stream has ended. Counts as having sent the node.
   */
  sendRaw(bytes: Buffer): Promise<void> {
    this.sentNode = true;
    return new Promise((resolve) => {
      this.call.write(bytes, () => resolve());
      void this.status.then(() => resolve());
    });
  }

  /** Sends a request without a node first (to test the server's refusal). */
  sendWithoutNode(typeUrl: string, names: readonly string[]): void {
    this.sentNode = true;
    this.send(typeUrl, names);
  }

  /** The next response of any type; rejects after `timeoutMs` or when the stream ends. */
  next(timeoutMs = this.options.timeoutMs ?? 3000): Promise<ReceivedResponse> {
    return this.responses.next(timeoutMs);
  }

  /** The next response, which must be of `typeUrl`. */
  async nextOf(typeUrl: string, timeoutMs?: number): Promise<ReceivedResponse> {
    const r = await this.next(timeoutMs);
    if (r.type_url !== typeUrl) throw new Error(`expected a response of ${typeUrl}, got ${r.type_url} (version ${r.version_info})`);
    return r;
  }

  /** Resolves if nothing arrives for `ms`; rejects with the unexpected response otherwise. */
  async expectNothing(ms = 150): Promise<void> {
    const queued = this.responses.shift();
    if (queued) throw new Error(`unexpected ${queued.type_url} response (version ${queued.version_info})`);
    let got: ReceivedResponse | undefined;
    try {
      got = await this.next(ms);
    } catch {
      return;
    }
    throw new Error(`unexpected ${got.type_url} response (version ${got.version_info})`);
  }

  /** ACKs a response, keeping the type's current names unless `names` is given. */
  ack(response: DiscoveryResponseIn, names?: readonly string[]): void {
    this.acked.set(response.type_url, response.version_info);
    this.send(response.type_url, names ?? this.names.get(response.type_url) ?? [], {
      version: response.version_info,
      nonce: response.nonce,
    });
  }

  /** NACKs a response: the previous ACKed version, the response's nonce and an error_detail. */
  nack(response: DiscoveryResponseIn, message: string): void {
    this.send(response.type_url, this.names.get(response.type_url) ?? [], {
      version: this.acked.get(response.type_url) ?? '',
      nonce: response.nonce,
      errorDetail: message,
    });
  }

  /** Stops reading responses (a stuck client: HTTP/2 flow control then stops the server's writes). */
  pause(): void {
    this.call.pause();
  }

  /** Half-closes the request side (the server should end the stream with OK). */
  end(): void {
    this.call.end();
  }

  /** Cancels the stream and closes the channel. */
  close(): void {
    this.call.cancel();
    this.client.close();
  }
}

/** Decodes the resources of a response into plain objects (proto field names). */
export function decodeResources(response: DiscoveryResponseIn): Record<string, unknown>[] {
  return response.resources.map((r) => decodeMessage(messageNameOf(r.type_url), r.value));
}

/** Names of the resources in a response (`name`, or `cluster_name` for endpoints), in order. */
export function resourceNames(response: DiscoveryResponseIn): string[] {
  return decodeResources(response).map((r) => String(r.name ?? r.cluster_name ?? ''));
}
