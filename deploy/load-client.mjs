#!/usr/bin/env node
// @ts-check
/**
 * Demo load client for docker-compose.yml (and `tether demo`, its local twin): N users
 * (x-user: user-0 … user-N-1) send requests through Envoy at a steady rate. Every interval it
 * prints one line: requests, errors, the share of each `version` response header, requests per
 * replica (x-replica), and `moved`: users whose replica changed within one version since the
 * previous line (with header stickiness it stays 0 unless replicas are added or removed).
 * Below it, one line per replica: the users it answered last (which replica each user reaches).
 *
 *   node deploy/load-client.mjs --target=http://envoy:10000/ --rps=10 --users=50 --interval=5
 *
 * Plain JavaScript (Node 20, no dependencies) so the image runs it as is.
 */

/** @param {string} name @param {string} fallback */
function arg(name, fallback) {
  const prefix = `--${name}=`;
  const hit = process.argv.slice(2).find((a) => a.startsWith(prefix));
  return hit ? hit.slice(prefix.length) : fallback;
}

const target = arg('target', 'http://127.0.0.1:10000/');
const rps = Math.max(1, Number(arg('rps', '10')));
const users = Math.max(1, Number(arg('users', '50')));
const intervalMs = Math.max(1, Number(arg('interval', '5'))) * 1000;

/** user → version → replica, as last seen. */
const lastReplica = new Map();
let window = newWindow();
let next = 0;

function newWindow() {
  return { requests: 0, errors: 0, versions: new Map(), replicas: new Map(), moved: new Set(), statuses: new Map(), lastSeen: new Map() };
}

/** @param {Map<string, number>} map @param {string} key */
function bump(map, key) {
  map.set(key, (map.get(key) ?? 0) + 1);
}

async function once() {
  const user = `user-${next++ % users}`;
  try {
    const res = await fetch(target, { headers: { 'x-user': user }, signal: AbortSignal.timeout(2000) });
    await res.arrayBuffer();
    if (res.status !== 200) {
      window.errors++;
      bump(window.statuses, String(res.status));
      return;
    }
    const version = res.headers.get('version') ?? '(none)';
    const replica = res.headers.get('x-replica') ?? '(none)';
    bump(window.versions, version);
    bump(window.replicas, replica);
    const seen = lastReplica.get(user) ?? new Map();
    const before = seen.get(version);
    if (before !== undefined && before !== replica) window.moved.add(user);
    seen.set(version, replica);
    lastReplica.set(user, seen);
    window.lastSeen.set(user, `${replica} (${version})`);
  } catch (err) {
    window.errors++;
    bump(window.statuses, /** @type {Error} */ (err).name);
  } finally {
    // Counted when answered, in the window its answer is counted in (shares stay <= 100 %).
    window.requests++;
  }
}

function report() {
  const w = window;
  window = newWindow();
  const ok = w.requests - w.errors;
  const pct = (/** @type {number} */ n) => `${ok === 0 ? 0 : ((100 * n) / ok).toFixed(1)}%`;
  const sorted = (/** @type {Map<string, number>} */ m) => [...m].sort(([a], [b]) => (a < b ? -1 : 1));
  const versions = sorted(w.versions).map(([v, n]) => `${v} ${pct(n)}`).join('  ') || '-';
  const replicas = sorted(w.replicas).map(([r, n]) => `${r}:${n}`).join(' ') || '-';
  const errors = w.errors === 0 ? '0' : `${w.errors} (${sorted(w.statuses).map(([s, n]) => `${s}:${n}`).join(' ')})`;
  const time = new Date().toISOString().slice(11, 19);
  console.log(`[${time}] requests ${w.requests}  errors ${errors}  ${versions}  replicas ${replicas}  moved ${w.moved.size}`);
  /** "replica (version)" → its users, in user order. */
  const byReplica = new Map();
  const userNumber = (/** @type {string} */ u) => Number(u.slice(u.lastIndexOf('-') + 1));
  for (const [user, where] of [...w.lastSeen].sort(([a], [b]) => userNumber(a) - userNumber(b))) {
    byReplica.set(where, [...(byReplica.get(where) ?? []), user]);
  }
  for (const [where, list] of sorted(byReplica)) console.log(`  ${where}: ${list.join(' ')}`);
}

console.log(`load client: ${users} users, ${rps} requests/s → ${target}`);
const sender = setInterval(() => void once(), 1000 / rps);
const reporter = setInterval(report, intervalMs);
for (const signal of /** @type {const} */ (['SIGINT', 'SIGTERM'])) {
  process.once(signal, () => {
    clearInterval(sender);
    clearInterval(reporter);
    report();
    process.exit(0);
  });
}
