import { CORE_SCHEMA, load, mergeTag } from 'js-yaml';
import { isMap, isScalar, isSeq, LineCounter, parseDocument, type Document } from 'yaml';
import type { FieldError } from './field-errors';
import { formatPath } from './field-errors';

/**
 * YAML (and therefore JSON) text → plain data. Syntax errors become FieldErrors carrying
 * line:col and, where the error sits inside a parsed node, that node's path, so a
 * duplicate key reads "services[0].routes: 12:7: Map keys must be unique".
 *
 * Two readers: js-yaml reads a plain-data document (no anchors, aliases, tags or directives)
 * about 8x faster than \`yaml\`'s document model (4.6 MB, 10,000 services: 0.4-0.7 s against
 * 4.3 s of CPU), which is most of a cold start. Everything else, and every text js-yaml refuses,
 * goes through \`yaml\`, which names the line, column and path of an error and bounds alias
 * expansion; so errors read exactly as before and js-yaml never decides what an error says.
 */

export type YamlResult = { ok: true; value: unknown } | { ok: false; errors: FieldError[] };

type YamlNode = { range?: [number, number, number] | null } | null | undefined;

function contains(node: YamlNode, offset: number): boolean {
  const range = node?.range;
  return !!range && offset >= range[0] && offset <= range[1];
}

/** The path of the deepest node that holds `offset`, best effort. */
function pathAt(node: unknown, offset: number, path: Array<string | number>): Array<string | number> {
  if (isMap(node)) {
    for (const pair of node.items) {
      const key = isScalar(pair.key) ? String(pair.key.value) : undefined;
      if (key === undefined) continue;
      if (contains(pair.key as YamlNode, offset)) return [...path, key];
      if (contains(pair.value as YamlNode, offset)) return pathAt(pair.value, offset, [...path, key]);
    }
  } else if (isSeq(node)) {
    for (let i = 0; i < node.items.length; i++) {
      const item = node.items[i];
      if (contains(item as YamlNode, offset)) return pathAt(item, offset, [...path, i]);
    }
  }
  return path;
}

function firstLine(message: string): string {
  // yaml appends a source excerpt after the first line even with prettyErrors off in some
  // versions; the location is given separately.
  return message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '').trim();
}

function syntaxErrors(doc: Document, lines: LineCounter, sourceName: string | undefined): FieldError[] {
  return doc.errors.map((err) => {
    const offset = err.pos[0];
    const { line, col } = lines.linePos(offset);
    const where = sourceName ? `${sourceName}:${line}:${col}` : `line ${line}:${col}`;
    const text =
      err.code === 'MULTIPLE_DOCS'
        ? "a config file holds one YAML document; remove the '---' separator"
        : firstLine(err.message);
    return { path: formatPath(pathAt(doc.contents, offset, [])), message: `${where}: ${text}` };
  });
}

// YAML 1.2 core scalars as \`yaml\` reads them, plus merge keys (\`<<:\`), which \`yaml\` reads too.
const FAST_SCHEMA = CORE_SCHEMA.withTags(mergeTag);
// A tag (\`!foo\`, \`!!float\`) or a directive (\`%YAML 1.1\` switches \`yaml\` to 1.1 scalars): the
// two readers differ there, so such a text takes \`yaml\`'s path. Matches also a \`!\` or \`%\`
// inside some strings, which only costs speed.
const NOT_PLAIN = /(?:^|[\s[{,])!|^%/m;

/** The value of a plain-data document, or undefined for \`yaml\` to read (and explain) it. */
export function readPlainYaml(text: string): { value: unknown } | undefined {
  if (NOT_PLAIN.test(text)) return undefined;
  try {
    // maxAliases 0: anchors and aliases go to \`yaml\` and its alias budget.
    return { value: load(text, { schema: FAST_SCHEMA, maxAliases: 0 }) };
  } catch {
    // Also an empty document (\`yaml\` reads null) and several documents (\`yaml\` explains).
    return undefined;
  }
}

export function parseYaml(text: string, sourceName?: string): YamlResult {
  const plain = readPlainYaml(text);
  if (plain) return { ok: true, value: plain.value };
  const lines = new LineCounter();
  let doc: Document;
  try {
    // merge: anchors with `<<:` are the usual way to share blocks between services.
    doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true, merge: true });
  } catch (err) {
    return { ok: false, errors: [{ path: '', message: `cannot parse: ${String(err)}` }] };
  }
  if (doc.errors.length > 0) return { ok: false, errors: syntaxErrors(doc, lines, sourceName) };
  try {
    // toJS keeps yaml's default alias budget, which stops "billion laughs" expansion.
    return { ok: true, value: doc.toJS() };
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    return { ok: false, errors: [{ path: '', message: `cannot read YAML: ${message}` }] };
  }
}
