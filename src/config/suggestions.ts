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

function editDistance(a: string, b: string): number {
  const prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let diag = prev[0]!;
    prev[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const up = prev[j]!;
      prev[j] = Math.min(up + 1, prev[j - 1]! + 1, diag + (a[i - 1] === b[j - 1] ? 0 : 1));
      diag = up;
    }
  }
  return prev[b.length]!;
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
  let best: string | undefined;
  let bestDistance = Infinity;
  let tied = false;
  for (const c of candidates) {
    const d = editDistance(lower, c.toLowerCase());
    if (d < bestDistance) {
      best = c;
      bestDistance = d;
      tied = false;
    } else if (d === bestDistance) {
      tied = true;
    }
  }
  // "http3" is as close to http1 as to http2: a guess would mislead.
  const allowed = input.length <= 4 ? 1 : 2;
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
