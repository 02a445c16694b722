/**
 * Issue 13: an ext_proc key file that disappears blocks neither an unrelated edit nor a
 * restart. The real `tether serve` binary; Envoy's side of ext_proc is the grpc-js client of
 * test/extproc/helpers.ts. Running: the loaded key stays in use (logged at error). Restarted
 * with the file gone: the last version is served, an error names the file, and only the JWT
 * source fails (fail-open: no key); the file back → keys again, no edit needed.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { EnvoyStream, externalProcessorClient, requestHeaders, setHeaders, signHs, type ExternalProcessorClient } from '../extproc/helpers';
import { makeTempDir, removeTempDir } from '../support/temp-dir';

const BIN = path.resolve(__dirname, '../../dist/src/cli/main.js');
const SECRET = 'a-shared-secret-of-some-length';
const dir = makeTempDir('secret-restart');
const children: ChildProcess[] = [];
const clients: ExternalProcessorClient[] = [];

const config = (port: number, secretFile = path.join(dir, 'hmac-secret')) => `
services:
  - name: chat
    domains: ["chat.example.com"]
    affinity:
      sessionKey:
        sources: [{ jwtClaim: { claim: sub, verify: { hmacSecretFile: ${JSON.stringify(secretFile)} } } }]
    routes: [{ backends: [{ name: chat-v1 }] }]
backends:
  - { name: chat-v1, endpoints: ["127.0.0.1:${port}"] }
`;

interface Line {
  msg: string;
  level: string;
  [key: string]: unknown;
}

interface Serving {
  child: ChildProcess;
  client: ExternalProcessorClient;
  lines: Line[];
  /** Resolves with the first log line (seen or to come) matching, within `ms`. */
  waitFor(match: (line: Line) => boolean, ms?: number): Promise<Line>;
}

function serve(): Promise<Serving> {
  const child = spawn(
    process.execPath,
    [BIN, 'serve', '--config', path.join(dir, 'config.yaml'), '--data-dir', path.join(dir, '.tether'), '--xds-host', '127.0.0.1', '--xds-port', '0', '--no-admin', '--no-metrics', '--ext-proc-host', '127.0.0.1', '--ext-proc-port', '0'],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  children.push(child);
  const lines: Line[] = [];
  const waiters: Array<{ match: (line: Line) => boolean; resolve: (line: Line) => void }> = [];
  let buf = '';
  child.stdout!.on('data', (chunk: Buffer) => {
    buf += chunk.toString();
    for (let nl = buf.indexOf('\n'); nl >= 0; nl = buf.indexOf('\n')) {
      const line = JSON.parse(buf.slice(0, nl)) as Line;
      buf = buf.slice(nl + 1);
      lines.push(line);
      for (const w of waiters.filter((w) => w.match(line))) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(line);
      }
    }
  });
  const waitFor = (match: (line: Line) => boolean, ms = 20_000): Promise<Line> => {
    const seen = lines.find(match);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no matching log line within ${ms} ms; got:\n${lines.map((l) => JSON.stringify(l)).join('\n')}`)), ms);
      waiters.push({ match, resolve: (line) => (clearTimeout(timer), resolve(line)) });
      child.once('exit', (code) => reject(new Error(`tether exited (${code})`)));
    });
  };
  return waitFor((l) => l.msg === 'ext_proc server listening').then((line) => {
    const client = externalProcessorClient(line.address as string);
    clients.push(client);
    return { child, client, lines, waitFor };
  });
}

/** The session key the ext_proc server sets for a request with this bearer token (undefined: none). */
async function keyFor(client: ExternalProcessorClient, token: string): Promise<string | undefined> {
  const stream = new EnvoyStream(client, { 'x-tether-service': 'chat' });
  const response = await stream.send(requestHeaders({ ':authority': 'chat.example.com', authorization: `Bearer ${token}` }));
  await stream.end();
  return setHeaders(response)['x-tether-session'];
}

function stop(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    child.once('exit', () => (clearTimeout(timer), resolve()));
    child.kill('SIGTERM');
  });
}

afterAll(async () => {
  for (const c of clients) c.close();
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  removeTempDir(dir);
});

describe.skipIf(!fs.existsSync(BIN))('a key file that disappears (real binary)', () => {
  it('keeps its keys for an unrelated edit, and a restart serves the last version with an error naming the file', async () => {
    const token = signHs({ sub: 'alice' }, SECRET);
    const secretFile = path.join(dir, 'hmac-secret');
    fs.writeFileSync(secretFile, `${SECRET}\n`);
    fs.writeFileSync(path.join(dir, 'config.yaml'), config(8081));
    let tether = await serve();
    expect(await keyFor(tether.client, token)).toBe('alice');

    // Gone, then an edit of something else: before the fix the edit was rejected (ENOENT).
    fs.rmSync(secretFile);
    fs.writeFileSync(path.join(dir, 'config.yaml'), config(8082));
    await tether.waitFor((l) => l.msg === 'config applied' && l.version === 2);
    const kept = await tether.waitFor((l) => l.level === 'error' && l.file === secretFile);
    expect(kept.msg).toMatch(/cannot be read \(ENOENT\); KEEPING the keys loaded from it earlier/);
    expect(await keyFor(tether.client, token)).toBe('alice');
    await stop(tether.child);

    // Restart with the file still gone: version 2 is served; only this JWT source fails (fail-open: no key).
    tether = await serve();
    await tether.waitFor((l) => l.msg === 'config restored' && l.version === 2);
    const unusable = await tether.waitFor((l) => l.level === 'error' && l.file === secretFile);
    expect(unusable.msg).toMatch(/cannot be read \(ENOENT\); JWT sources verifying with it reject every token/);
    expect(await keyFor(tether.client, token)).toBeUndefined();

    // The file back: re-read on use (at most every 5 s), no edit or restart needed.
    fs.writeFileSync(secretFile, `${SECRET}\n`);
    const deadline = Date.now() + 15_000;
    let key: string | undefined;
    while ((key = await keyFor(tether.client, token)) === undefined && Date.now() < deadline) await new Promise((r) => setTimeout(r, 250));
    expect(key).toBe('alice');
    await stop(tether.child);
  }, 90_000);

  it("refuses the admin token file (default or --admin-token-file) and a path outside the secrets dir, naming the field", () => {
    const home = makeTempDir('secret-admin');
    try {
      const run = (file: string, extra: string[] = []) => {
        fs.writeFileSync(path.join(home, 'config.yaml'), config(8081, file));
        return spawnSync(process.execPath, [BIN, 'serve', '--config', path.join(home, 'config.yaml'), '--data-dir', path.join(home, '.tether'), '--xds-port', '0', '--admin-port', '0', '--no-metrics', '--no-ext-proc', ...extra], {
          encoding: 'utf8',
          timeout: 20_000,
        });
      };
      const field = 'services[0].affinity.sessionKey.sources[0].jwtClaim.verify.hmacSecretFile';
      for (const [file, extra] of [['.tether/admin-token', []], ['token', ['--admin-token-file', path.join(home, 'token')]]] as const) {
        const result = run(file, [...extra]);
        expect(result.status).toBe(1);
        expect(result.stderr).toContain(`${field}: must not name Tether's own files (data dir, admin token)`);
      }
      const outside = run('/etc/shadow');
      expect(outside.status).toBe(1);
      expect(outside.stderr).toContain(`${field}: must name a file inside the secrets directory ${home} (set by --secrets-dir or TETHER_SECRETS_DIR)`);
      // `tether validate` applies the same rule; --secrets-dir moves the directory (checked, not read).
      const validate = (extra: string[]) => spawnSync(process.execPath, [BIN, 'validate', '-f', path.join(home, 'config.yaml'), ...extra], { encoding: 'utf8', timeout: 20_000 });
      expect(validate([]).stderr).toContain(`${field}: must name a file inside the secrets directory ${home}`);
      expect(validate(['--secrets-dir', '/etc'])).toMatchObject({ status: 0, stdout: expect.stringContaining('valid (1 services, 1 backends)') });
    } finally {
      removeTempDir(home);
    }
  }, 90_000);
});
