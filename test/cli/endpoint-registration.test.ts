import * as grpc from '@grpc/grpc-js';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import type { AdminClient, UnaryMethod } from '../../src/cli/admin-client';
import { startRegistration } from '../../src/cli/endpoint-registration';
import { CliError } from '../../src/cli/errors';

/** A scripted AdminClient: each call takes the next outcome for its method (default: success). */
function fakeClient(script: Partial<Record<UnaryMethod, (CliError | 'ok')[]>> = {}) {
  const calls: { method: UnaryMethod; at: number; request: unknown }[] = [];
  let closed = false;
  const client: AdminClient = {
    address: 'fake:1',
    call(method, request) {
      calls.push({ method, at: Date.now(), request });
      const outcome = script[method]?.shift() ?? 'ok';
      if (outcome !== 'ok') return Promise.reject(outcome);
      return Promise.resolve({ version: String(calls.length), changed: true, dry_run: false, changes: [] } as never);
    },
    waitForRollout: () => Promise.reject(new Error('unused')),
    close: () => void (closed = true),
  };
  return { client, calls, isClosed: () => closed };
}

const unavailable = () => new CliError('cannot reach the admin server', grpc.status.UNAVAILABLE);
const logger = pino({ level: 'silent' });
const fast = { initialDelayMs: 5, maxDelayMs: 20, maxAttempts: 5 };

describe('replica self-registration', () => {
  it('retries AddEndpoint with backoff until Tether answers, then drains, waits the grace and removes', async () => {
    const fake = fakeClient({ AddEndpoint: [unavailable(), unavailable()] });
    const registration = startRegistration({ client: fake.client, backend: 'shop-v1', address: '127.0.0.1:8081', logger, retry: fast, drainGraceMs: 150 });
    expect(await registration.registered).toBe(true);
    expect(fake.calls.map((c) => c.method)).toEqual(['AddEndpoint', 'AddEndpoint', 'AddEndpoint']);
    expect(fake.calls[0]!.request).toMatchObject({ backend: 'shop-v1', address: '127.0.0.1:8081', weight: 0 });
    await Promise.all([registration.deregister(), registration.deregister()]);
    expect(fake.calls.map((c) => c.method).slice(3)).toEqual(['DrainEndpoint', 'RemoveEndpoint']);
    expect(fake.calls[4]!.at - fake.calls[3]!.at).toBeGreaterThanOrEqual(140);
    expect(fake.isClosed()).toBe(true);
  });

  it('gives up after the attempt limit, or at once on a definite refusal, without throwing', async () => {
    const down = fakeClient({ AddEndpoint: Array.from({ length: 10 }, unavailable) });
    const r1 = startRegistration({ client: down.client, backend: 'b', address: 'a:1', logger, retry: { ...fast, maxAttempts: 3 } });
    expect(await r1.registered).toBe(false);
    expect(down.calls).toHaveLength(3);

    const refused = fakeClient({ AddEndpoint: [new CliError("backend 'b' not found", grpc.status.NOT_FOUND)] });
    const r2 = startRegistration({ client: refused.client, backend: 'b', address: 'a:1', logger, retry: fast, drainGraceMs: 0 });
    expect(await r2.registered).toBe(false);
    await r2.deregister();
    // Never added, so nothing to undo.
    expect(refused.calls.map((c) => c.method)).toEqual(['AddEndpoint']);
  });

  it('a stop while still retrying ends the retries and still cleans up; failing shutdown calls are bounded', async () => {
    const fake = fakeClient({
      AddEndpoint: Array.from({ length: 50 }, unavailable),
      DrainEndpoint: [unavailable(), unavailable(), unavailable()],
    });
    const registration = startRegistration({ client: fake.client, backend: 'b', address: 'a:1', logger, retry: { initialDelayMs: 1000, maxAttempts: 50 }, drainGraceMs: 0 });
    await expect.poll(() => fake.calls.length).toBe(1);
    const started = Date.now();
    await registration.deregister();
    expect(Date.now() - started).toBeLessThan(1000);
    expect(await registration.registered).toBe(false);
    // Drain tried twice (then given up), remove still attempted.
    expect(fake.calls.map((c) => c.method)).toEqual(['AddEndpoint', 'DrainEndpoint', 'DrainEndpoint', 'RemoveEndpoint']);
  });
});
