/**
 * Config documents crossing to and from the compute worker in event-loop turns. Posting a
 * 10,000-service document as an object, or JSON.stringify/parse of it in one go, holds the
 * loop for 50–150 ms; here the top-level arrays (services, backends) are written and read a
 * batch of entries at a time, with a turn (yieldToLoop) whenever a slice has run ~10 ms.
 * What crosses the thread boundary is then text, which posting copies cheaply.
 */
import { sliceTurns } from '../util/yield-loop';

/** A top-level member: its JSON, or (a long array) the JSON of consecutive batches of entries. */
export type DocumentPart = { key: string; json: string } | { key: string; batches: string[] };

/** Entries per batch of a long array (a batch is parsed in one go). */
const BATCH = 200;

/** A document's JSON text, written in turns (the same text as JSON.stringify). */
export async function stringifyInTurns(document: Record<string, unknown>): Promise<string> {
  const turn = sliceTurns();
  const members: string[] = [];
  for (const [key, value] of Object.entries(document)) {
    if (value === undefined) continue;
    if (!Array.isArray(value)) {
      members.push(`${JSON.stringify(key)}:${JSON.stringify(value)}`);
      continue;
    }
    const entries: string[] = [];
    for (let i = 0; i < value.length; i++) {
      // JSON.stringify writes undefined (and functions) in an array as null.
      entries.push(JSON.stringify(value[i]) ?? 'null');
      if (i % 32 === 31) await turn();
    }
    members.push(`${JSON.stringify(key)}:[${entries.join(',')}]`);
    await turn();
  }
  return `{${members.join(',')}}`;
}

/** A document as parts (for the worker: synchronous, it has no loop to share). */
export function documentParts(document: Record<string, unknown>): DocumentPart[] {
  const parts: DocumentPart[] = [];
  for (const [key, value] of Object.entries(document)) {
    if (value === undefined) continue;
    if (!Array.isArray(value) || value.length <= BATCH) {
      parts.push({ key, json: JSON.stringify(value) });
      continue;
    }
    const batches: string[] = [];
    for (let i = 0; i < value.length; i += BATCH) batches.push(`[${value.slice(i, i + BATCH).map((v: unknown) => JSON.stringify(v) ?? 'null').join(',')}]`);
    parts.push({ key, batches });
  }
  return parts;
}

/** The document back from its parts, parsed a batch at a time in turns. */
export async function parseInTurns(parts: readonly DocumentPart[]): Promise<Record<string, unknown>> {
  const turn = sliceTurns();
  const out: Record<string, unknown> = {};
  for (const part of parts) {
    let value: unknown;
    if ('json' in part) value = JSON.parse(part.json);
    else {
      const entries: unknown[] = [];
      for (const batch of part.batches) {
        for (const entry of JSON.parse(batch) as unknown[]) entries.push(entry);
        await turn();
      }
      value = entries;
    }
    // defineProperty: a member named "__proto__" stays a member (JSON.parse does the same).
    Object.defineProperty(out, part.key, { value, enumerable: true, writable: true, configurable: true });
    await turn();
  }
  return out;
}
