/**
 * `tether ext-proc` (the built binary): the ext_proc server alone, with the sessionKey policies
 * of a config file, driven over gRPC as Envoy drives it; a saved edit of the file changes the
 * next decision; an invalid file refuses to start with every error's path.
 */
import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { makeTempDir, removeTempDir } from '../support/temp-dir';
import { BIN, cleanEnv, hasBuild } from './harness';
import { EnvoyStream, externalProcessorClient, requestHeaders, setHeaders } from '../extproc/helpers';

const tmp = makeTempDir('cli-ext-proc');
afterAll(() => removeTempDir(tmp));

const config = (source: string) => `
services:
  - name: chat
    affinity:
      sessionKey: { sources: [{ header: ${source} }], bucketHeader: false }
    routes: [{ backends: [{ name: chat-v1 }] }]
backends: [{ name: chat-v1, endpoints: ["127.0.0.1:8081"] }]
`;

/** Resolves with the first stdout JSON line matching `msg`, collecting every line. */
function waitForLog(child: ChildProcessWithoutNullStreams, msg: string, lines: Record<string, unknown>[], timeoutMs = 15_000): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    const seen = lines.find((l) => l.msg === msg);
    if (seen) return resolve(seen);
    const timer = setTimeout(() => reject(new Error(`no "${msg}" log within ${timeoutMs} ms: ${JSON.stringify(lines)}`)), timeoutMs);
    const onLine = (line: Record<string, unknown>) => {
      if (line.msg !== msg) return;
      clearTimeout(timer);
      child.stdout.off('json', onLine);
      resolve(line);
    };
    child.stdout.on('json', onLine);
  });
}

describe.skipIf(!hasBuild)('tether ext-proc (built binary)', () => {
  it('serves the file’s policies and follows edits of the file', async () => {
    const file = path.join(tmp, 'config.yaml');
    fs.writeFileSync(file, config('x-user'));
    const child = spawn(process.execPath, [BIN, 'ext-proc', '-c', file, '--host', '127.0.0.1', '--port', '0'], { cwd: tmp, env: cleanEnv() });
    const lines: Record<string, unknown>[] = [];
    let buf = '';
    child.stdout.on('data', (chunk: Buffer) => {
      buf += chunk.toString();
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = JSON.parse(buf.slice(0, nl)) as Record<string, unknown>;
        buf = buf.slice(nl + 1);
        lines.push(line);
        child.stdout.emit('json', line);
      }
    });
    const client = { current: undefined as ReturnType<typeof externalProcessorClient> | undefined };
    try {
      const ready = await waitForLog(child, 'serving session key policies', lines);
      expect(ready.services).toEqual(['chat']);
      client.current = externalProcessorClient(`127.0.0.1:${String(ready.port)}`);
      const decide = async (headers: Record<string, string>) => {
        const stream = new EnvoyStream(client.current!, { 'x-tether-service': 'chat' });
        const set = setHeaders(await stream.send(requestHeaders(headers)));
        await stream.end();
        return set;
      };
      expect(await decide({ 'x-user': 'alice', 'x-session-id': 's1' })).toEqual({ 'x-tether-session': 'alice' });

      fs.writeFileSync(`${file}.tmp`, config('x-session-id'));
      fs.renameSync(`${file}.tmp`, file);
      await waitForLog(child, 'session key policies reloaded', lines);
      expect(await decide({ 'x-user': 'alice', 'x-session-id': 's1' })).toEqual({ 'x-tether-session': 's1' });
    } finally {
      client.current?.close();
      child.kill('SIGTERM');
    }
  });

  it('refuses an invalid file, naming every field', () => {
    const file = path.join(tmp, 'bad.yaml');
    fs.writeFileSync(file, config('X-User'));
    const run = spawnSync(process.execPath, [BIN, 'ext-proc', '-c', file, '--port', '0'], { encoding: 'utf8', timeout: 15_000, cwd: tmp, env: cleanEnv() });
    expect(run.status).toBe(1);
    expect(run.stderr).toContain('services[0].affinity.sessionKey.sources[0].header: must be lower case (Envoy lower-cases header names)');
  });
});
