/**
 * The one error shape of config validation: a path into the file, in the same
 * bracket/dot form people use to talk about it, and a short message.
 */
export interface FieldError {
  /** e.g. "services[0].routes[1].backends[0].weight"; "" for the file as a whole. */
  path: string;
  message: string;
}

const PLAIN_KEY = /^[A-Za-z_][A-Za-z0-9_-]*$/;

/** ["services", 0, "match", "headers", ":path"] → 'services[0].match.headers[":path"]' */
export function formatPath(path: ReadonlyArray<PropertyKey>): string {
  let out = '';
  for (const part of path) {
    if (typeof part === 'number') out += `[${part}]`;
    else {
      const key = String(part);
      if (PLAIN_KEY.test(key)) out += out === '' ? key : `.${key}`;
      else out += `[${JSON.stringify(key)}]`;
    }
  }
  return out;
}

/** One "path: message" per line, in the order found. */
export function formatErrors(errors: FieldError[]): string {
  return errors.map((e) => (e.path === '' ? e.message : `${e.path}: ${e.message}`)).join('\n');
}

/** Keeps the first of identical reports, which two checks can make about one mistake. */
export function dedupeErrors(errors: FieldError[]): FieldError[] {
  const seen = new Set<string>();
  return errors.filter((e) => {
    const key = `${e.path}\u0000${e.message}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}
