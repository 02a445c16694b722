/**
 * The go-control-plane comparator (bench/xds/gcp, a Go program of its own on the pinned
 * go-control-plane module): built with the installed Go toolchain into a temporary directory
 * when the bench asks for it, never by `npm run build` or `npm test`.
 *
 * It serves what Tether serves: the runner asks Tether's process to dump its snapshots of both
 * node kinds (each resource's name and Any bytes, `writeDump`), the Go program decodes them into
 * go-control-plane's typed resources and puts them in its SnapshotCache. Edits are the same
 * one-route change, made on its own copy of svc-0's route (main.go, resources.go).
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Snapshot } from '../../src/cache/snapshot';
import { startJsonLines, type Child } from './children';

/** The Go module's folder, from the sources (bench/xds) or the compiled bench (dist/bench/xds). */
export function gcpSourceDir(): string {
  for (const dir of [path.join(__dirname, 'gcp'), path.resolve(__dirname, '../../../bench/xds/gcp')]) {
    if (fs.existsSync(path.join(dir, 'go.mod'))) return dir;
  }
  throw new Error(`bench/xds/gcp/go.mod not found from ${__dirname}`);
}

/** The go-control-plane version go.mod pins (for the report). */
export function gcpVersion(): string {
  try {
    const mod = fs.readFileSync(path.join(gcpSourceDir(), 'go.mod'), 'utf8');
    return /github\.com\/envoyproxy\/go-control-plane (v\S+)/.exec(mod)?.[1] ?? 'unknown';
  } catch {
    return 'unknown'; // a prebuilt --gcp-bin run away from the sources
  }
}

export function goAvailable(): boolean {
  try {
    execFileSync('go', ['version'], { stdio: 'ignore', timeout: 10_000 });
    return true;
  } catch {
    return false;
  }
}

/** `go build` into a fresh temporary directory; returns the binary's path. */
export function buildGcp(): string {
  const out = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'tether-gcp-')), 'gcp');
  execFileSync('go', ['build', '-o', out, '.'], { cwd: gcpSourceDir(), stdio: ['ignore', 'inherit', 'inherit'], timeout: 600_000 });
  return out;
}

export async function startGcp(binary: string): Promise<{ child: Child; port: number }> {
  const child = startJsonLines('go-control-plane', binary, []);
  const ready = await child.next<{ port: number }>('ready', 30_000);
  return { child, port: ready.port };
}

/** Dump format read by gcp/resources.go: kind → type URL → [{name, any: base64 of the Any bytes}]. */
export type ResourceDump = Record<string, Record<string, { name: string; any: string }[]>>;

export function dumpOf(snapshots: Record<string, Snapshot>): ResourceDump {
  const out: ResourceDump = {};
  for (const [kind, snapshot] of Object.entries(snapshots)) {
    out[kind] = {};
    for (const [typeUrl, set] of Object.entries(snapshot.sets)) {
      out[kind][typeUrl] = set.list.map((r) => ({ name: r.name, any: r.anyBytes.toString('base64') }));
    }
  }
  return out;
}

export function writeDump(file: string, snapshots: Record<string, Snapshot>): void {
  fs.writeFileSync(file, JSON.stringify(dumpOf(snapshots)));
}
