/**
 * "Did you mean" hints for unknown fields and enum values: typos by edit distance, and the
 * names Istio, Kubernetes and Envoy Gateway use for the same idea, since those are the
 * files people copy from.
 */

const FOREIGN_NAMES: Record<string, string> = {
  // Istio DestinationRule consistentHash / loadBalancer
  consistentHash: 'affinity',
  httpHeaderName: 'header',
  httpCookie: 'cookie',
  useSourceIp: 'clientIp',
  sourceIp: 'clientIp',
  httpQueryParameterName: 'queryParameter',
  loadBalancer: 'balancer',
  simple: 'type',
  minimumRingSize: 'minRingSize',
  maximumRingSize: 'maxRingSize',
  ringSize: 'minRingSize',
  // Istio VirtualService
  hosts: 'domains',
  http: 'routes',
  route: 'backends',
  destination: 'name',
  host: 'name',
  queryParameters: 'queryParams',
  // Envoy Gateway / Gateway API
  backendRefs: 'backends',
  hostnames: 'domains',
  rules: 'routes',
  matches: 'match',
  sessionPersistence: 'affinity',
};

/** Free-text hints where the other tool nests things differently. */
const FOREIGN_HINTS: Record<string, string> = {
  uri: 'put prefix, exact or regex directly under match',
  path: 'put prefix, exact or regex directly under match',
};

/** One row of the edit-distance table, reused (names are short; grown when one is not). */
let row = new Int32Array(64);

/**
 * The edit distance of `a` and `b` when it is at most `cap`, else `cap + 1`: a row whose
 * smallest cell is past `cap` ends the count (an unknown backend's hint compares it with every
 * backend's name: 10,000 full tables held the loop ~30 ms).
 */
function editDistanceWithin(a: string, b: string, cap: number): number {
  if (Math.abs(a.length - b.length) > cap) return cap + 1;
  if (row.length <= b.length) row = new Int32Array(b.length + 1);
  const prev = row;
  for (let j = 0; j <= b.length; j++) prev[j] = j;
  for (let i = 1; i <= a.length; i++) {
    let diag = prev[0]!;
    prev[0] = i;
    let least = i;
    for (let j = 1; j <= b.length; j++) {
      const up = prev[j]!;
      const d = Math.min(up + 1, prev[j - 1]! + 1, diag + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev[j] = d;
      if (d < least) least = d;
      diag = up;
    }
    if (least > cap) return cap + 1;
  }
  return Math.min(prev[b.length]!, cap + 1);
}

/** The closest candidate to a misspelling, if close enough to be a likely typo. */
export function closest(input: string, candidates: readonly string[]): string | undefined {
  const lower = input.toLowerCase();
  const sameCase = candidates.find((c) => c.toLowerCase() === lower);
  if (sameCase) return sameCase;
  // "RoundRobin", "ROUND_ROBIN", "round-robin" all mean round_robin.
  const snake = input.replace(/([a-z0-9])([A-Z])/g, '$1_$2').replace(/-/g, '_').toLowerCase();
  const asSnake = candidates.find((c) => c === snake);
  if (asSnake) return asSnake;
  // "http3" is as close to http1 as to http2: a guess would mislead.
  const allowed = input.length <= 4 ? 1 : 2;
  // Distances past `allowed` are all alike here: no hint can come from them, and a tie among
  // them does not matter (counted only up to allowed + 1).
  let best: string | undefined;
  let bestDistance = Infinity;
  let tied = false;
  for (const c of candidates) {
    const d = editDistanceWithin(lower, c.toLowerCase(), allowed);
    if (d < bestDistance) {
      best = c;
      bestDistance = d;
      tied = false;
    } else if (d === bestDistance) {
      tied = true;
    }
  }
  return bestDistance <= allowed && !tied ? best : undefined;
}

/** The whole message for a field that is not part of the format at this position. */
export function unknownFieldMessage(key: string, known: readonly string[]): string {
  const base = `unknown field '${key}'`;
  const foreign = FOREIGN_NAMES[key];
  if (foreign !== undefined && known.includes(foreign)) return `${base}; use '${foreign}'`;
  const hint = FOREIGN_HINTS[key];
  if (hint !== undefined && known.includes('prefix')) return `${base}; ${hint}`;
  const near = closest(key, known);
  return near ? `${base}; did you mean '${near}'?` : base;
}
