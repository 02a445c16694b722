/**
 * Issue 13, key files (`hmacSecretFile`, `jwksFile`): validation reads nothing; the ext_proc
 * side reads only regular files of bounded size inside the secrets directory, without blocking
 * the event loop, and keeps the keys it loaded when a file turns bad.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { compilePolicy, loadPolicyFiles, readSecretFile, SECRET_FILE_MAX_BYTES, setSecretFileRules, validatePolicy } from '../../src/extproc';
import { parseJwks } from '../../src/extproc/jwt';
import { SecretStore } from '../../src/util/secret-files';
import { makeTempDir, removeTempDir } from '../support/temp-dir';

const SECRET = 'a-shared-secret-of-some-length';
const hs = (hmacSecretFile: string) => ({ sources: [{ jwtClaim: { claim: 'sub', verify: { hmacSecretFile } } }] });
const jwks = (jwksFile: string) => ({ sources: [{ jwtClaim: { claim: 'sub', verify: { jwksFile } } }] });

let dir: string;
const children: ChildProcess[] = [];

beforeAll(() => {
  dir = makeTempDir('secrets');
  setSecretFileRules({ dir, refuse: [path.join(dir, '.tether'), path.join(dir, 'admin.token')] });
});

afterAll(() => {
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  removeTempDir(dir);
});

/** Counts event loop turns while `work` runs: a blocked loop counts none. */
async function loopTurnsDuring<T>(work: Promise<T>): Promise<{ result: PromiseSettledResult<T>; turns: number }> {
  let turns = 0;
  let done = false;
  const tick = (): void => {
    if (done) return;
    turns++;
    setImmediate(tick);
  };
  setImmediate(tick);
  const [result] = await Promise.allSettled([work]);
  done = true;
  return { result, turns };
}

describe('validation does no I/O', () => {
  test('a FIFO as hmacSecretFile: validation returns at once, reading refuses it without waiting for a writer', async () => {
    const fifo = path.join(dir, 'fifo');
    expect(spawnSync('mkfifo', [fifo]).status).toBe(0);
    // Before the fix validation read the FIFO synchronously: it waited for this writer (2 s),
    // then refused its short "secret". Now nothing waits and nothing is read.
    children.push(spawn('sh', ['-c', `sleep 2; printf short > '${fifo}'`], { stdio: 'ignore' }));
    const started = Date.now();
    expect(validatePolicy(hs('fifo'))).toEqual([]);
    expect(Date.now() - started).toBeLessThan(1000);

    const { result, turns } = await loopTurnsDuring(readSecretFile(fifo));
    expect(result.status).toBe('rejected');
    expect(((result as PromiseRejectedResult).reason as Error).message).toBe('is not a regular file');
    expect(turns).toBeGreaterThan(0);
    // Loading a policy naming it settles too (the problem is logged, not thrown).
    await expect(loadPolicyFiles(compilePolicy(hs(fifo)))).resolves.toBeUndefined();
  });

  test('/dev/zero is refused as not a regular file, and a file over the cap is refused unread', async () => {
    setSecretFileRules({ dir: '/dev' });
    try {
      // Before the fix validation read /dev/zero until the process ran out of memory.
      expect(validatePolicy(hs('/dev/zero'))).toEqual([]);
      await expect(readSecretFile('/dev/zero')).rejects.toThrow('is not a regular file');
      await expect(readSecretFile('zero')).rejects.toThrow('is not a regular file');
    } finally {
      setSecretFileRules({ dir, refuse: [path.join(dir, '.tether'), path.join(dir, 'admin.token')] });
    }
    fs.writeFileSync(path.join(dir, 'big'), Buffer.alloc(SECRET_FILE_MAX_BYTES + 1, 'a'));
    await expect(readSecretFile(path.join(dir, 'big'))).rejects.toThrow(`is larger than ${SECRET_FILE_MAX_BYTES} bytes`);
    fs.writeFileSync(path.join(dir, 'exact'), Buffer.alloc(SECRET_FILE_MAX_BYTES, 'a'));
    expect((await readSecretFile('exact')).data.length).toBe(SECRET_FILE_MAX_BYTES);
  });
});

describe('the secrets directory', () => {
  test('a path outside it is refused, with one message whether or not the file exists', () => {
    const message = `must name a file inside the secrets directory ${dir} (set by --secrets-dir or TETHER_SECRETS_DIR)`;
    for (const file of ['/etc/passwd', '/etc/shadow', '/etc/no-such-file-anywhere', '../elsewhere', `${dir}/../x`, dir]) {
      expect(validatePolicy(hs(file))).toEqual([{ path: 'sources[0].jwtClaim.verify.hmacSecretFile', message }]);
      expect(validatePolicy(jwks(file))).toEqual([{ path: 'sources[0].jwtClaim.verify.jwksFile', message }]);
    }
    expect(validatePolicy(hs(''))).toEqual([{ path: 'sources[0].jwtClaim.verify.hmacSecretFile', message: 'must be a file path' }]);
  });

  test("Tether's own files (data dir, admin token) are refused even inside it, also through a symlink", async () => {
    const own = "must not name Tether's own files (data dir, admin token)";
    expect(validatePolicy(hs('.tether/admin-token'))).toEqual([{ path: 'sources[0].jwtClaim.verify.hmacSecretFile', message: own }]);
    expect(validatePolicy(hs(path.join(dir, 'admin.token')))).toEqual([{ path: 'sources[0].jwtClaim.verify.hmacSecretFile', message: own }]);
    fs.mkdirSync(path.join(dir, '.tether'), { recursive: true });
    fs.writeFileSync(path.join(dir, '.tether', 'admin-token'), `${SECRET}\n`);
    fs.symlinkSync(path.join(dir, '.tether', 'admin-token'), path.join(dir, 'innocent'));
    expect(validatePolicy(hs('innocent'))).toEqual([]);
    await expect(readSecretFile('innocent')).rejects.toThrow('resolves outside the secrets directory (symlink)');
  });

  test('a symlink leaving it is refused; one staying inside (a Kubernetes secret volume) is read', async () => {
    fs.symlinkSync('/etc/hostname', path.join(dir, 'escape'));
    await expect(readSecretFile('escape')).rejects.toThrow('resolves outside the secrets directory (symlink)');
    fs.mkdirSync(path.join(dir, '..2026_01'));
    fs.writeFileSync(path.join(dir, '..2026_01', 'hmac'), `${SECRET}\n`);
    fs.symlinkSync('..2026_01', path.join(dir, '..data'));
    fs.symlinkSync('..data/hmac', path.join(dir, 'hmac'));
    expect((await readSecretFile('hmac')).data.toString()).toBe(`${SECRET}\n`);
    // A missing file inside the directory may say so: only the allowed directory is probed.
    await expect(readSecretFile('missing')).rejects.toThrow('cannot be read (ENOENT)');
  });
});

describe('key material', () => {
  test('kept when the file disappears or turns bad, loudly logged; a file never loaded has no keys', async () => {
    const lines: string[] = [];
    const store = new SecretStore();
    store.useLogger(pino({ level: 'info' }, { write: (line: string) => void lines.push(line) }));
    const file = path.join(dir, 'jwks.json');
    const { publicKey } = await import('node:crypto').then((c) => c.generateKeyPairSync('ec', { namedCurve: 'P-256' }));
    fs.writeFileSync(file, JSON.stringify({ keys: [{ ...publicKey.export({ format: 'jwk' }), kid: 'k1' }] }));
    await store.load('jwks', file, parseJwks);
    expect(store.get('jwks', file, parseJwks)).toHaveLength(1);

    fs.rmSync(file);
    await store.load('jwks', file, parseJwks);
    expect(store.get('jwks', file, parseJwks)).toHaveLength(1);
    expect(store.problem('jwks', file)).toBe('cannot be read (ENOENT)');
    expect(lines.at(-1)).toMatch(/"level":50.*KEEPING the keys loaded from it earlier/);

    fs.writeFileSync(file, '{');
    await store.load('jwks', file, parseJwks);
    expect(store.problem('jwks', file)).toBe('is not valid JSON');
    expect(store.get('jwks', file, parseJwks)).toHaveLength(1);

    const never = path.join(dir, 'no-keys.json');
    fs.writeFileSync(never, JSON.stringify({ keys: [{ kty: 'oct', k: 'c2VjcmV0' }] }));
    await store.load('jwks', never, parseJwks);
    expect(store.get('jwks', never, parseJwks)).toBeUndefined();
    expect(store.problem('jwks', never)).toBe('holds no usable public signing key');
    expect(lines.at(-1)).toMatch(/"level":50.*reject every token/);
  });
});
