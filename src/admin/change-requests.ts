/**
 * Readers for the request messages that describe a config change. The mutation handlers
 * (admin-service.ts) and WhatIf (what-if.ts, where the same messages sit under a oneof member)
 * read them identically; only the path prefix of their field errors differs.
 */
import { formatPath } from '../config/field-errors';
import { parseYaml } from '../config/yaml-source';
import type { ApplyConfigRequest__Output } from '../generated/tether/tether/admin/v1/ApplyConfigRequest';
import type { EndpointRequest__Output } from '../generated/tether/tether/admin/v1/EndpointRequest';
import type { SetSplitRequest__Output } from '../generated/tether/tether/admin/v1/SetSplitRequest';
import { structToObject } from './convert';
import { convertedConfig } from './large-messages';
import type { RequestFields } from './request-fields';

/** The YAML parser blocks the event loop (~3 s per MB), xDS included: bigger configs come as a Struct. */
export const MAX_CONFIG_TEXT_BYTES = 1024 * 1024;

/** `prefix.field`, or `field` when there is no prefix. */
export function under(prefix: string, field: string): string {
  return prefix ? `${prefix}.${field}` : field;
}

/** ApplyConfigRequest's document: the Struct, else the YAML/JSON text. */
export function readConfigDocument(fields: RequestFields, req: ApplyConfigRequest__Output, prefix = ''): unknown {
  const done = convertedConfig(req);
  if (done) {
    fields.errors.push(...done.errors);
    return done.document;
  }
  if (req.config) return structToObject(req.config, prefix ? [prefix, 'config'] : ['config'], fields.errors);
  if (Buffer.byteLength(req.text) > MAX_CONFIG_TEXT_BYTES) {
    fields.problem(under(prefix, 'text'), `at most ${MAX_CONFIG_TEXT_BYTES} bytes of YAML/JSON; send a bigger config as \`config\` (a Struct)`);
    return undefined;
  }
  if (req.text.trim() === '') {
    fields.problem(under(prefix, 'config'), 'required: the config as a Struct, or as YAML/JSON in `text`');
    return undefined;
  }
  const parsed = parseYaml(req.text, 'text');
  if (parsed.ok) return parsed.value;
  fields.errors.push(...parsed.errors.map((e) => ({ path: under(prefix, 'text'), message: e.path ? `${e.path}: ${e.message}` : e.message })));
  return undefined;
}

export function readSplit(fields: RequestFields, req: SetSplitRequest__Output, prefix = '') {
  const service = fields.name(req.service, under(prefix, 'service'));
  const route = fields.optionalName(req.route, under(prefix, 'route')) ?? '';
  const entries = Object.entries(req.weights ?? {});
  if (entries.length === 0) fields.problem(under(prefix, 'weights'), 'required: at least one backend name → weight');
  for (const [backend] of entries) fields.name(backend, under(prefix, formatPath(['weights', backend.slice(0, 80)])));
  if (entries.length > 0 && entries.every(([, w]) => w === 0)) fields.problem(under(prefix, 'weights'), 'the weights must add up to more than 0');
  return { service, route, weights: Object.fromEntries(entries) as Record<string, number> };
}

/** Only AddEndpoint takes a weight (0 → 1) and a gRPC port (0 → none). */
export function readEndpoint(fields: RequestFields, req: EndpointRequest__Output, isAdd: boolean, prefix = '') {
  const backend = fields.name(req.backend, under(prefix, 'backend'));
  const address = fields.address(req.address, under(prefix, 'address'));
  if (!isAdd && req.weight) fields.problem(under(prefix, 'weight'), 'only AddEndpoint takes a weight');
  if (!isAdd && req.grpc_port) fields.problem(under(prefix, 'grpc_port'), 'only AddEndpoint takes a gRPC port');
  else if (req.grpc_port > 65535) fields.problem(under(prefix, 'grpc_port'), 'must be a port number from 1 to 65535 (or 0 for none)');
  return { backend, address, weight: req.weight || 1, ...(req.grpc_port ? { grpcPort: req.grpc_port } : {}) };
}
