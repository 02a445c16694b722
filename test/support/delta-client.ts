/**
 * A raw incremental (delta) ADS client for tests, written from the xDS spec (grpc-js-xds has
 * no delta client). It sends DeltaDiscoveryRequests exactly as told and keeps what a real
 * client would: per type, the resources it holds (name → version and decoded resource), so
 * a test can assert both the wire messages and the state they lead to.
 */
import * as grpc from '@grpc/grpc-js';
import { decodeMessage } from '../../src/envoy/encode';
import { messageNameOf } from '../../src/envoy/resource-types';
import type { Node } from '../../src/generated/envoy/config/core/v3/Node';
import { ResponseQueue } from './response-queue';
import { decodeDeltaDiscoveryResponse, encodeDeltaDiscoveryRequest, type DeltaDiscoveryResponseIn } from '../../src/xds/discovery-codec';

const DELTA_PATH = '/envoy.service.discovery.v3.AggregatedDiscoveryService/DeltaAggregatedResources';

export interface DeltaRequestOptions {
  subscribe?: readonly string[];
  unsubscribe?: readonly string[];
  initialVersions?: Record<string, string>;
  nonce?: string;
  /** Makes the request a NACK with this error_detail.message. */
  errorDetail?: string;
}

export interface HeldResource {
  version: string;
  resource: Record<string, unknown>;
}

export class DeltaClient {
  private readonly client: grpc.Client;
  private readonly call: grpc.ClientDuplexStream<Buffer, DeltaDiscoveryResponseIn>;
  private readonly responses = new ResponseQueue<DeltaDiscoveryResponseIn>('DeltaDiscoveryResponse');
  private sentNode = false;
  /** What the client holds per type after the responses it ACKed. */
  readonly held = new Map<string, Map<string, HeldResource>>();
  readonly status: Promise<grpc.StatusObject>;

  constructor(
    address: string,
    private readonly node: Node,
  ) {
    this.client = new grpc.Client(address, grpc.credentials.createInsecure());
    this.call = this.client.makeBidiStreamRequest(DELTA_PATH, (b: Buffer) => b, decodeDeltaDiscoveryResponse);
    this.call.on('data', (r: DeltaDiscoveryResponseIn) => this.responses.push(r));
    this.call.on('error', () => {
      /* reported through `status` */
    });
    this.status = new Promise((resolve) => {
      this.call.on('status', (s: grpc.StatusObject) => {
        this.responses.end(new Error(`delta ADS stream ended: ${grpc.status[s.code]} ${s.details}`));
        resolve(s);
      });
    });
  }

  send(typeUrl: string, opts: DeltaRequestOptions = {}): void {
    this.call.write(
      encodeDeltaDiscoveryRequest({
        node: this.sentNode ? null : this.node,
        type_url: typeUrl,
        resource_names_subscribe: [...(opts.subscribe ?? [])],
        resource_names_unsubscribe: [...(opts.unsubscribe ?? [])],
        initial_resource_versions: opts.initialVersions ?? {},
        response_nonce: opts.nonce ?? '',
        error_detail: opts.errorDetail !== undefined ? { code: grpc.status.INVALID_ARGUMENT, message: opts.errorDetail } : null,
      }),
    );
    this.sentNode = true;
    for (const name of opts.unsubscribe ?? []) this.heldOf(typeUrl).delete(name);
    // What a reconnecting client says it has, it holds (its body is not kept here).
    for (const [name, version] of Object.entries(opts.initialVersions ?? {})) this.heldOf(typeUrl).set(name, { version, resource: {} });
  }

  /**
   * Writes an already encoded DeltaDiscoveryRequest (bytes no encoder would produce, or a huge request built
   * cheaply); resolves once written or the stream has ended. Counts as having sent the node.
   */
  sendRaw(bytes: Buffer): Promise<void> {
    this.sentNode = true;
    return new Promise((resolve) => {
      this.call.write(bytes, () => resolve());
      void this.status.then(() => resolve());
    });
  }

  next(timeoutMs = 3000): Promise<DeltaDiscoveryResponseIn> {
    return this.responses.next(timeoutMs);
  }

  async nextOf(typeUrl: string, timeoutMs?: number): Promise<DeltaDiscoveryResponseIn> {
    const r = await this.next(timeoutMs);
    if (r.type_url !== typeUrl) throw new Error(`expected a delta response of ${typeUrl}, got ${r.type_url}`);
    return r;
  }

  /** Resolves if nothing arrives for `ms`; rejects with the unexpected response otherwise. */
  async expectNothing(ms = 150): Promise<void> {
    let got: DeltaDiscoveryResponseIn | undefined;
    try {
      got = await this.next(ms);
    } catch {
      return;
    }
    throw new Error(`unexpected ${got.type_url} delta response (${got.resources.map((r) => r.name).join(',')} / removed ${got.removed_resources.join(',')})`);
  }

  /** Applies a response to the held state and ACKs it. */
  ack(response: DeltaDiscoveryResponseIn, more: Omit<DeltaRequestOptions, 'nonce' | 'errorDetail'> = {}): void {
    const held = this.heldOf(response.type_url);
    for (const r of response.resources) {
      if (!r.resource) throw new Error(`resource ${r.name} without a body`);
      held.set(r.name, { version: r.version, resource: decodeMessage(messageNameOf(r.resource.type_url), r.resource.value) });
    }
    for (const name of response.removed_resources) held.delete(name);
    this.send(response.type_url, { ...more, nonce: response.nonce });
  }

  nack(response: DeltaDiscoveryResponseIn, message: string): void {
    this.send(response.type_url, { nonce: response.nonce, errorDetail: message });
  }

  /** name → version of what the client holds of a type (for initial_resource_versions on reconnect). */
  versions(typeUrl: string): Record<string, string> {
    return Object.fromEntries([...this.heldOf(typeUrl)].map(([n, h]) => [n, h.version]));
  }

  heldOf(typeUrl: string): Map<string, HeldResource> {
    let m = this.held.get(typeUrl);
    if (!m) this.held.set(typeUrl, (m = new Map()));
    return m;
  }

  close(): void {
    this.call.cancel();
    this.client.close();
  }
}

export const names = (r: DeltaDiscoveryResponseIn): string[] => r.resources.map((x) => x.name);
