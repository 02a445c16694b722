/**
 * GetServedResources: the snapshot a node is served, from the same encoded bytes the xDS
 * streams send (never a second translation), each resource written as proto3 JSON the way
 * Envoy's /config_dump prints it, so `tether verify` can compare the two.
 */
import type { Snapshot } from '../cache/snapshot';
import { TetherError } from '../config/errors';
import { anyJson } from '../envoy/proto-json';
import { PUSH_ORDER, SECRET_TYPE, SHORT_NAMES } from '../envoy/resource-types';
import type { GetServedResourcesRequest__Output } from '../generated/tether/tether/admin/v1/GetServedResourcesRequest';
import type { GetServedResourcesResponse } from '../generated/tether/tether/admin/v1/GetServedResourcesResponse';
import type { NodeKind } from '../model/node-targets';
import type { NodeRegistry } from '../xds/node-status';
import { RequestFields } from './request-fields';
import { readNodeKind } from './status';

/** Where the served snapshots are (the snapshot cache). */
export interface ServedSnapshots {
  get(kind: NodeKind): Snapshot | undefined;
}

export function servedResources(snapshots: ServedSnapshots | undefined, registry: NodeRegistry, req: GetServedResourcesRequest__Output): GetServedResourcesResponse {
  const fields = new RequestFields();
  const requestedKind = readNodeKind(req.node_kind, 'node_kind', fields.errors);
  fields.done();
  if (!snapshots) throw new TetherError('FAILED_PRECONDITION', 'this admin server has no access to the served snapshots');
  const node = req.node_id ? registry.list().find((n) => n.nodeId === req.node_id) : undefined;
  const kind: NodeKind = node?.kind ?? requestedKind ?? 'envoy';
  const snapshot = snapshots.get(kind);
  if (!snapshot) throw new TetherError('UNAVAILABLE', `nothing is served to ${kind} nodes yet`);
  const resources: GetServedResourcesResponse['resources'] = [];
  const typeVersions: Record<string, string> = {};
  for (const typeUrl of PUSH_ORDER) {
    const set = snapshot.sets[typeUrl];
    typeVersions[SHORT_NAMES[typeUrl]] = set.version;
    for (const r of set.list) {
      const { '@type': _type, ...resource } = anyJson(r.anyBytes);
      if (typeUrl === SECRET_TYPE) redactKey(resource);
      resources.push({ type: SHORT_NAMES[typeUrl], name: r.name, json: JSON.stringify(resource), version: r.hash });
    }
  }
  return { version: snapshot.configVersion, node_kind: kind, node_connected: node !== undefined, resources, type_versions: typeVersions };
}

/** A Secret's private key is shown as Envoy's /config_dump shows it: "[redacted]". */
function redactKey(secret: Record<string, unknown>): void {
  const cert = secret.tls_certificate as Record<string, unknown> | undefined;
  if (cert && cert.private_key !== undefined) cert.private_key = { inline_string: '[redacted]' };
}
