/**
 * The resource-type table (src/envoy/resource-types.ts) is the one place per-type knowledge
 * lives: its rows must agree with Envoy's protos and with what the rest of Tether relies on.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { lookupEnvoyType } from '../../src/envoy/protos';
import {
  PUSH_ORDER,
  REFERENCED_TYPE,
  RESOURCE_TYPES,
  SHOWN_TYPE_NAMES,
  SHORT_NAMES,
  STREAM_PUSH_ORDER,
  TYPE_LABELS,
  VIRTUAL_HOST_TYPE,
  WILDCARD_TYPES,
  STATUS_TYPES,
  TYPE_PREFIX,
  isResourceTypeUrl,
  messageNameOf,
  messageOf,
  resourceType,
} from '../../src/envoy/resource-types';

const SRC = path.resolve(__dirname, '../../src');

/** Every hand-written source file of src/ (not the generated proto types), relative to src/. */
function sourceFiles(dir = SRC): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const full = path.join(dir, e.name);
    if (e.isDirectory()) return full === path.join(SRC, 'generated') ? [] : sourceFiles(full);
    return /\.tsx?$/.test(e.name) ? [path.relative(SRC, full)] : [];
  });
}

describe('resource-type table', () => {
  it('names each row by its own type URL, and Envoy has that message with the name field', () => {
    for (const t of RESOURCE_TYPES) {
      expect(t.message).toBe(messageNameOf(t.typeUrl));
      const type = lookupEnvoyType(t.message);
      expect(type.fields[t.nameField], `${t.message}.${t.nameField}`).toBeDefined();
    }
  });

  it('pushes make-before-break: clusters, endpoints, secrets, listeners, routes, then virtual hosts', () => {
    expect(PUSH_ORDER.map((t) => SHORT_NAMES[t])).toEqual(['CDS', 'EDS', 'SDS', 'LDS', 'RDS']);
    expect(STREAM_PUSH_ORDER.map((t) => SHORT_NAMES[t])).toEqual(['CDS', 'EDS', 'SDS', 'LDS', 'RDS', 'VHDS']);
    // A referenced type is pushed before the type naming it (RDS → CDS is the exception make-before-break
    // resolves by keeping dropped clusters until the new routes are ACKed).
    expect(Object.entries(REFERENCED_TYPE).map(([from, to]) => `${SHORT_NAMES[from as keyof typeof SHORT_NAMES]}→${SHORT_NAMES[to]}`)).toEqual(['CDS→EDS', 'LDS→RDS', 'RDS→CDS']);
  });

  it('derives wildcards, labels and the shown order from the rows', () => {
    expect([...WILDCARD_TYPES].map((t) => resourceType(t)!.short).sort()).toEqual(['CDS', 'LDS', 'VHDS']);
    expect(Object.values(TYPE_LABELS).sort()).toEqual(['cluster', 'endpoint', 'listener', 'route', 'secret', 'virtual_host']);
    expect(SHOWN_TYPE_NAMES).toEqual(['LDS', 'RDS', 'CDS', 'EDS']);
    expect(isResourceTypeUrl(VIRTUAL_HOST_TYPE)).toBe(false);
    expect(isResourceTypeUrl('type.googleapis.com/envoy.config.core.v3.TypedExtensionConfig')).toBe(false);
    expect(resourceType(VIRTUAL_HOST_TYPE)?.short).toBe('VHDS');
    expect(STATUS_TYPES.map((t) => SHORT_NAMES[t])).toEqual(['LDS', 'RDS', 'VHDS', 'CDS', 'EDS', 'SDS']);
  });

  it('is the only place that writes a type URL or a served message name: the rest of src/ derives them', () => {
    for (const t of RESOURCE_TYPES) expect(messageOf(t.typeUrl)).toBe(t.message);
    const files = sourceFiles();
    expect(files).toContain('envoy/resource-types.ts');
    const found: string[] = [];
    for (const file of files) {
      if (file === 'envoy/resource-types.ts') continue;
      const text = fs.readFileSync(path.join(SRC, file), 'utf8');
      // Any type URL (a served type's or an extension's) is built from TYPE_PREFIX.
      if (text.includes(TYPE_PREFIX.slice(0, -1))) found.push(`${file}: ${TYPE_PREFIX}`);
      // envoy/messages.ts maps every message the encoder types, by name (a compile-time table;
      // resource-types.ts's SERVED_MESSAGES checks the served ones are in it).
      if (file === 'envoy/messages.ts') continue;
      for (const t of RESOURCE_TYPES) {
        const quoted = new RegExp(`[\`'"]${t.message.replace(/\./g, '\\.')}[\`'"]`);
        if (quoted.test(text)) found.push(`${file}: '${t.message}' (use messageOf(${t.short}'s type URL))`);
      }
    }
    expect(found).toEqual([]);
  });
});
