/**
 * Translation warnings (what a kind of node cannot get: gRPC clients have no ext_proc, …) are
 * shown wherever a config is: `tether validate`, `tether apply` and its dry run (the admin
 * API's MutationResponse.warnings), the serve log (warn, once per version, also when DNS
 * re-resolution re-publishes that version) and the tether_config_warnings gauge.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_TOKEN, Harness, waitFor } from '../support/harness';
import { BIN, cleanEnv, hasBuild, runCli } from '../cli/harness';

/** `chat` has a sessionKey (a warning for gRPC nodes); its backend is a DNS name (re-resolved). */
const WITH_KEY = `
services:
  - name: chat
    affinity:
      keys: [{ header: x-user }]
      sessionKey: { sources: [{ header: x-session }] }
    routes: [{ backends: [{ name: chat-v1 }] }]
backends:
  - name: chat-v1
    endpoints: ["chat.internal:8080"]
`;
const WITHOUT_KEY = WITH_KEY.replace('      sessionKey: { sources: [{ header: x-session }] }\n', '');
const GRPC_WARNING = 'services[chat].affinity.sessionKey: gRPC clients have no ext_proc: sessionKey left out; they hash on the header keys of affinity.keys';

interface LogLine {
  level: number;
  msg: string;
  version?: number;
  warnings?: { nodeKind: string; path: string; message: string }[];
}

describe.skipIf(!hasBuild)('translation warnings', () => {
  const h = new Harness();
  const logs: LogLine[] = [];
  let address = '127.0.0.1';
  let env: NodeJS.ProcessEnv;
  const tether = (args: string[]) => runCli(args, { env, cwd: h.dir });
  const file = (name: string, text: string) => {
    const p = path.join(h.dir, name);
    fs.writeFileSync(p, text);
    return p;
  };
  const warnLogs = (version: number) => logs.filter((l) => l.level === 40 && l.version === version && Array.isArray(l.warnings));
  const gauge = async (kind: string) => {
    const m = new RegExp(`^tether_config_warnings\\{kind="${kind}"\\} (\\d+)$`, 'm').exec(await h.tether.metrics.registry.metrics());
    return m ? Number(m[1]) : undefined;
  };

  beforeAll(async () => {
    const logger = pino({ level: 'info' }, { write: (line: string) => void logs.push(JSON.parse(line) as LogLine) });
    await h.start(WITHOUT_KEY, {
      watch: false,
      logger,
      // Re-resolution: the name moves between two addresses, so the version is re-published.
      lookup: async () => [address],
      resolveIntervalMs: 100,
    });
    env = cleanEnv({ TETHER_ADMIN_ADDR: `127.0.0.1:${h.tether.adminPort}`, TETHER_ADMIN_TOKEN: ADMIN_TOKEN });
  });
  afterAll(async () => {
    await h.close();
  });

  it('tether validate prints them on stderr and still exits 0; with several files, each file names its own', () => {
    const warned = spawnSync(process.execPath, [BIN, 'validate', '-f', file('with.yaml', WITH_KEY)], { encoding: 'utf8', env: cleanEnv() });
    expect(warned.status, warned.stderr).toBe(0);
    expect(warned.stdout).toContain('valid (1 services, 1 backends)');
    expect(warned.stderr).toBe(`warning: [grpc] ${GRPC_WARNING}\n`);
    // Several files: each file's warnings, named; a file without any adds none.
    const withFile = path.join(h.dir, 'with.yaml');
    const both = spawnSync(process.execPath, [BIN, 'validate', '-f', withFile, file('without.yaml', WITHOUT_KEY)], { encoding: 'utf8', env: cleanEnv() });
    expect(both.status).toBe(0);
    expect(both.stdout).toContain('without.yaml: valid');
    expect(both.stderr).toBe(`${withFile}: warning: [grpc] ${GRPC_WARNING}\n`);
  });

  it('apply and its dry run report them (admin API warnings field); the log warns once per version; the gauge counts them', async () => {
    expect(await gauge('grpc')).toBe(0);
    const before = h.tether.manager.current().version;
    const withKey = file('apply.yaml', WITH_KEY);

    const dry = await tether(['apply', '-f', withKey, '--dry-run']);
    expect(dry.code, dry.stderr).toBe(0);
    expect(dry.stderr).toBe(`warning: [grpc] ${GRPC_WARNING}\n`);
    const dryJson = await tether(['apply', '-f', withKey, '--dry-run', '-o', 'json']);
    expect(JSON.parse(dryJson.stdout).warnings).toEqual([
      { node_kind: 'grpc', path: 'services[chat].affinity.sessionKey', message: GRPC_WARNING.split(': ').slice(1).join(': ') },
    ]);
    // A dry run serves nothing: no log, no gauge.
    expect(logs.filter((l) => l.level === 40 && Array.isArray(l.warnings))).toEqual([]);
    expect(await gauge('grpc')).toBe(0);

    const applied = await tether(['apply', '-f', withKey]);
    expect(applied.code, applied.stderr).toBe(0);
    expect(applied.stdout).toContain(`applied version ${before + 1}`);
    expect(applied.stderr).toBe(`warning: [grpc] ${GRPC_WARNING}\n`);
    expect(await gauge('grpc')).toBe(1);
    expect(await gauge('envoy')).toBe(0);
    expect(warnLogs(before + 1)).toHaveLength(1);
    expect(warnLogs(before + 1)[0]!.msg).toContain(GRPC_WARNING);

    // The same version re-published (DNS moved): no second warning in the log.
    address = '127.0.0.2';
    await waitFor('re-resolution to re-publish', () => logs.some((l) => l.msg === 'endpoints re-resolved; pushed'), 10_000);
    expect(warnLogs(before + 1)).toHaveLength(1);

    // Re-applying changes nothing and still tells what is served.
    const again = await tether(['apply', '-f', withKey]);
    expect(again.stdout).toBe(`no change (version ${before + 1})\n`);
    expect(again.stderr).toBe(`warning: [grpc] ${GRPC_WARNING}\n`);

    // Without the sessionKey: no warnings, the gauge drops; a rollback is a new version and warns again.
    const removed = await tether(['apply', '-f', file('without2.yaml', WITHOUT_KEY)]);
    expect(removed.stderr).toBe('');
    expect(await gauge('grpc')).toBe(0);
    const rolledBack = await tether(['rollback']);
    expect(rolledBack.code, rolledBack.stderr).toBe(0);
    expect(rolledBack.stderr).toBe(`warning: [grpc] ${GRPC_WARNING}\n`);
    expect(warnLogs(before + 3)).toHaveLength(1);
    expect(await gauge('grpc')).toBe(1);
  });
});
