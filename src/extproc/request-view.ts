/**
 * The request as ext_proc delivers it (an envoy.config.core.v3.HeaderMap), with lazy cookie
 * and query-string parsing. Envoy sends header values in `raw_value` (bytes) when the runtime
 * guard `envoy.reloadable_features.send_header_raw_value` is on (the default) and in `value`
 * otherwise; Envoy reads mutations from the same field, so the encoding seen here is the one
 * to answer in.
 */

/** One decoded envoy.config.core.v3.HeaderValue (protobufjs leaves defaults on the prototype). */
export interface HeaderValueIn {
  key: string;
  value?: string;
  raw_value?: Uint8Array;
}

const JSON_CONTENT_TYPE = /^\s*application\/(?:[\w.+-]+\+)?json\s*(?:;|$)/i;

export class RequestView {
  /** First entry of each header; values are decoded on first read (most are never read). */
  private readonly entries = new Map<string, HeaderValueIn>();
  private readonly decoded = new Map<string, string>();
  /** Every `cookie` entry (HTTP/2 may split the header). */
  private readonly cookieEntries: HeaderValueIn[] = [];
  private cookies: Map<string, string> | undefined;
  private queryParams: Map<string, string> | undefined;
  /** Whether Envoy used `raw_value` (true) or `value` for headers. */
  readonly rawValues: boolean;

  constructor(
    entries: readonly HeaderValueIn[],
    /** request_headers.end_of_stream: the request has no body. */
    readonly endOfStream: boolean,
  ) {
    let sawValue = false;
    let sawRaw = false;
    for (const entry of entries) {
      if (typeof entry?.key !== 'string') continue;
      if (entry.raw_value && entry.raw_value.length > 0) sawRaw = true;
      else if (typeof entry.value === 'string' && entry.value !== '') sawValue = true;
      const name = entry.key.toLowerCase();
      if (name === 'cookie') this.cookieEntries.push(entry);
      else if (!this.entries.has(name)) this.entries.set(name, entry);
    }
    this.rawValues = sawRaw || !sawValue;
  }

  /** The first value of a header (cookie headers joined with `; `). */
  header(name: string): string | undefined {
    if (name === 'cookie') return this.cookieEntries.length > 0 ? this.cookieEntries.map(valueOf).join('; ') : undefined;
    let value = this.decoded.get(name);
    if (value === undefined) {
      const entry = this.entries.get(name);
      if (!entry) return undefined;
      value = valueOf(entry);
      this.decoded.set(name, value);
    }
    return value;
  }

  cookie(name: string): string | undefined {
    if (!this.cookies) {
      this.cookies = new Map();
      const header = this.header('cookie');
      if (header) {
        for (const pair of header.split(';')) {
          const eq = pair.indexOf('=');
          if (eq < 0) continue;
          const key = pair.slice(0, eq).trim();
          let value = pair.slice(eq + 1).trim();
          if (value.length >= 2 && value.startsWith('"') && value.endsWith('"')) value = value.slice(1, -1);
          if (key && !this.cookies.has(key)) this.cookies.set(key, value);
        }
      }
    }
    return this.cookies.get(name);
  }

  /** A query parameter of `:path`, percent-decoded (`+` is a space); the first occurrence wins. */
  query(name: string): string | undefined {
    if (!this.queryParams) {
      this.queryParams = new Map();
      const path = this.header(':path') ?? '';
      const start = path.indexOf('?');
      if (start >= 0) {
        const end = path.indexOf('#', start);
        for (const pair of path.slice(start + 1, end < 0 ? undefined : end).split('&')) {
          if (!pair) continue;
          const eq = pair.indexOf('=');
          const key = decodeComponent(eq < 0 ? pair : pair.slice(0, eq));
          if (!this.queryParams.has(key)) this.queryParams.set(key, eq < 0 ? '' : decodeComponent(pair.slice(eq + 1)));
        }
      }
    }
    return this.queryParams.get(name);
  }

  get authority(): string | undefined {
    return this.header(':authority') ?? this.header('host');
  }

  get path(): string | undefined {
    return this.header(':path');
  }

  get isJson(): boolean {
    return JSON_CONTENT_TYPE.test(this.header('content-type') ?? '');
  }

  /** content-length, when present and well-formed. */
  get contentLength(): number | undefined {
    const raw = this.header('content-length');
    return raw !== undefined && /^\d{1,15}$/.test(raw) ? Number(raw) : undefined;
  }
}

function valueOf(entry: HeaderValueIn): string {
  const raw = entry.raw_value;
  if (raw && raw.length > 0) return Buffer.from(raw.buffer, raw.byteOffset, raw.length).toString('utf8');
  return typeof entry.value === 'string' ? entry.value : '';
}

function decodeComponent(text: string): string {
  const spaced = text.replace(/\+/g, ' ');
  try {
    return decodeURIComponent(spaced);
  } catch {
    return spaced;
  }
}
