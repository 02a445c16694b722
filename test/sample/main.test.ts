import * as http from 'node:http';
import pino from 'pino';
import { CommanderError } from 'commander';
import { describe, expect, it } from 'vitest';
import { createSampleCommand, runSampleCli } from '../../src/sample/main';
import type { Replica } from '../../src/sample/replica';

function getStatus(port: number, path: string): Promise<number> {
  return new Promise((resolve, reject) =>
    http.get({ host: '127.0.0.1', port, path, agent: false }, (res) => {
      res.resume();
      resolve(res.statusCode!);
    }).on('error', reject),
  );
}

describe('sample CLI', () => {
  it('runs a replica from flags and stops cleanly on request', async () => {
    const stop = new AbortController();
    let replica: Replica | undefined;
    const running = runSampleCli(['--id', 'cli-1', '--version', 'v9', '--http-port', '0', '--grpc-port', '0', '--cold-delay', '5ms'], {
      stop: stop.signal,
      logger: pino({ level: 'silent' }),
      onReady: (r) => (replica = r),
    });
    await expect.poll(() => replica).toBeDefined();
    expect(replica).toMatchObject({ id: 'cli-1', version: 'v9' });
    expect(await getStatus(replica!.httpPort, '/healthz')).toBe(200);
    const signalListeners = process.listenerCount('SIGTERM');
    stop.abort();
    await running;
    await expect(getStatus(replica!.httpPort, '/healthz')).rejects.toThrow(/ECONNREFUSED/);
    // Nothing is left listening for signals once it has stopped.
    expect(process.listenerCount('SIGTERM')).toBe(signalListeners - 1);
  });

  it('rejects bad arguments with a CommanderError instead of exiting', async () => {
    const quiet = { logger: pino({ level: 'silent' }) };
    const silence = (fn: () => Promise<void>) => {
      const write = process.stderr.write;
      process.stderr.write = (() => true) as typeof process.stderr.write;
      return fn().finally(() => (process.stderr.write = write));
    };
    await expect(silence(() => runSampleCli(['--http-port', '1'], quiet))).rejects.toBeInstanceOf(CommanderError); // no --id
    await expect(silence(() => runSampleCli(['--id', 'x', '--http-port', '99999'], quiet))).rejects.toThrow(/0\.\.65535/);
    await expect(silence(() => runSampleCli(['--id', 'x', '--cold-delay', 'soon'], quiet))).rejects.toThrow(/--cold-delay <duration>' argument 'soon' is invalid/);
  });

  it('can be mounted as a subcommand', () => {
    const command = createSampleCommand();
    expect(command.name()).toBe('sample');
    expect(command.options.map((o) => o.long)).toEqual(
      expect.arrayContaining(['--id', '--version', '--host', '--http-port', '--grpc-port', '--cold-delay']),
    );
  });
});
