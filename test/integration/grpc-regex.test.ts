/**
 * A route regex with a top-level alternation, on the real @grpc/grpc-js-xds client: it
 * matches the whole value, as on Envoy. grpc-js-xds compiles `^${regex}$` without a group,
 * so Tether sends it `(?:a|b)`; sent as `a|b`, the value "axx" (starts with a) would match.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fullMatch } from '../../src/regex';
import { Harness, hello } from '../support/harness';

describe('route regexes on the real gRPC client', () => {
  const h = new Harness();

  beforeAll(async () => {
    const [alt, other] = [await h.replica('alt'), await h.replica('other')];
    await h.start({
      listeners: [{ name: 'http', port: 10000 }],
      services: [{
        name: 'shop',
        routes: [
          { name: 'alt', match: { headers: { 'x-case': { regex: 'a|b' } } }, backends: [{ name: 'alt' }] },
          { name: 'rest', backends: [{ name: 'other' }] },
        ],
      }],
      backends: [
        { name: 'alt', endpoints: [alt.address] },
        { name: 'other', endpoints: [other.address] },
      ],
    });
  });
  afterAll(() => h.close());

  it('a|b matches "a" and "b" whole, not "axx" or "xxb"', async () => {
    const client = h.client('shop');
    const route = async (value: string) => (await hello(client, { 'x-case': value })).replica_id;
    expect(await route('a')).toBe('alt');
    expect(await route('b')).toBe('alt');
    expect(await route('axx')).toBe('other');
    expect(await route('xxb')).toBe('other');
    // What the client would have done with the pattern as written.
    expect(fullMatch('a|b', 'axx', 'grpc')).toBe(true);
  });
});
