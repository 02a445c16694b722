import { isMap, isPair, isScalar, isSeq, parseDocument, type Document, type Node, type YAMLMap } from 'yaml';
import { LOOPBACK } from './topology';

/**
 * The local demo's copies of deploy/compose-config.yaml and envoy/gateway.yaml. They differ
 * from the files only in addresses, and only where a local process cannot do what a
 * container does:
 *   - Tether config: listeners bind 127.0.0.1 (a container binds 0.0.0.0 in its own network
 *     namespace; on your machine that would be every interface), and ports follow the
 *     demo's port flags. Endpoint names stay: Tether resolves them with its --hosts-file.
 *   - Envoy bootstrap: Tether's name becomes its address (Envoy has no static name table and
 *     resolves `tether` through DNS), and ports follow the flags.
 * The copies are the files' text with those values replaced in place (comments, layout and
 * everything else byte for byte), so the demo runs the same services, routes, policies and
 * Envoy settings as compose, and a diff of file and copy shows only addresses.
 */

type Path = (string | number)[];

interface Edit {
  start: number;
  end: number;
  text: string;
}

function applyEdits(text: string, edits: Edit[]): string {
  let out = text;
  for (const e of [...edits].sort((a, b) => b.start - a.start)) out = out.slice(0, e.start) + e.text + out.slice(e.end);
  return out;
}

/** Replaces a scalar's source text, keeping its quotes. */
function replaceScalar(text: string, node: unknown, value: string, edits: Edit[]): void {
  if (!isScalar(node) || !node.range) return;
  const [start, end] = node.range;
  const quote = text[start] === '"' || text[start] === "'" ? text[start] : '';
  edits.push({ start, end, text: `${quote}${value}${quote}` });
}

function mapPort(text: string, node: unknown, ports: ReadonlyMap<number, number>, edits: Edit[]): void {
  if (!isScalar(node)) return;
  const local = ports.get(Number(node.value));
  if (local !== undefined && local !== Number(node.value)) replaceScalar(text, node, String(local), edits);
}

/** `host:port` with the port mapped; undefined when nothing changes. */
function mapHostPort(value: string, ports: ReadonlyMap<number, number>): string | undefined {
  const m = /^(.*):(\d+)$/.exec(value);
  const local = m ? ports.get(Number(m[2])) : undefined;
  return m && local !== undefined && local !== Number(m[2]) ? `${m[1]}:${local}` : undefined;
}

function items(doc: Document, path: Path): unknown[] {
  const node = doc.getIn(path, true);
  return isSeq(node) ? node.items : [];
}

function parse(text: string, what: string): Document {
  const doc = parseDocument(text, { keepSourceTokens: false });
  if (doc.errors.length > 0) throw new Error(`cannot parse ${what}: ${doc.errors[0]!.message}`);
  return doc;
}

/** Sets `key: value` in a map: replaces the value, or adds the pair after the map's last one. */
function setInMap(text: string, map: YAMLMap, key: string, value: string, edits: Edit[]): void {
  const existing = map.get(key, true);
  if (existing !== undefined) return replaceScalar(text, existing, value, edits);
  const last = map.items.at(-1);
  if (!isPair(last) || !isScalar(last.key) || !last.key.range) return;
  const valueEnd = ((last.value as Node | null)?.range ?? last.key.range)[1];
  if (map.flow) {
    edits.push({ start: valueEnd, end: valueEnd, text: `, ${key}: ${value}` });
    return;
  }
  const keyStart = last.key.range[0];
  const indent = keyStart - (text.lastIndexOf('\n', keyStart - 1) + 1);
  // After the last value, before any comment on its line.
  edits.push({ start: valueEnd, end: valueEnd, text: `\n${' '.repeat(indent)}${key}: ${value}` });
}

/** The Tether config's local copy. Text that is not valid YAML is returned as is: Tether reports it. */
export function localConfigText(text: string, ports: ReadonlyMap<number, number>): string {
  let doc: Document;
  try {
    doc = parse(text, 'the config');
  } catch {
    return text;
  }
  const edits: Edit[] = [];
  for (const listener of items(doc, ['listeners'])) {
    if (!isMap(listener)) continue;
    mapPort(text, listener.get('port', true), ports, edits);
    setInMap(text, listener, 'address', LOOPBACK, edits);
  }
  for (const backend of items(doc, ['backends'])) {
    const endpoints = isMap(backend) ? backend.get('endpoints', true) : undefined;
    for (const endpoint of isSeq(endpoints) ? endpoints.items : []) {
      const scalar = isMap(endpoint) ? endpoint.get('address', true) : endpoint;
      const mapped = isScalar(scalar) && typeof scalar.value === 'string' ? mapHostPort(scalar.value, ports) : undefined;
      if (mapped) replaceScalar(text, scalar, mapped, edits);
    }
  }
  return applyEdits(text, edits);
}

/** The Envoy bootstrap's local copy: static clusters' names → addresses from `hosts`, ports mapped. */
export function localBootstrapText(text: string, hosts: ReadonlyMap<string, string>, ports: ReadonlyMap<number, number>): string {
  const doc = parse(text, 'the Envoy bootstrap');
  const edits: Edit[] = [];
  for (const cluster of items(doc, ['static_resources', 'clusters'])) {
    const localities = isMap(cluster) ? cluster.getIn(['load_assignment', 'endpoints'], true) : undefined;
    for (const locality of isSeq(localities) ? localities.items : []) {
      const lbEndpoints = isMap(locality) ? locality.get('lb_endpoints', true) : undefined;
      for (const lb of isSeq(lbEndpoints) ? lbEndpoints.items : []) {
        const socket = isMap(lb) ? lb.getIn(['endpoint', 'address', 'socket_address'], true) : undefined;
        if (!isMap(socket)) continue;
        const address = socket.get('address', true);
        const ip = isScalar(address) && typeof address.value === 'string' ? hosts.get(address.value) : undefined;
        if (ip) replaceScalar(text, address, ip, edits);
        mapPort(text, socket.get('port_value', true), ports, edits);
      }
    }
  }
  mapPort(text, doc.getIn(['admin', 'address', 'socket_address', 'port_value'], true), ports, edits);
  return applyEdits(text, edits);
}
