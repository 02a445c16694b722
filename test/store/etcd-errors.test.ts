/** How etcd client failures are worded for operators (src/store/etcd-connection.ts). */
import { describe, expect, it } from 'vitest';
import { explainEtcdError } from '../../src/store/etcd-connection';

const RESET = '14 UNAVAILABLE: No connection established. Last error: Error: read ECONNRESET.';

describe('explainEtcdError', () => {
  it('names TLS when an etcds:// connection is reset before any connection was set up (a plain-http member)', () => {
    expect(explainEtcdError(RESET, true)).toMatch(/TLS: the etcd member did not answer TLS: .*use etcd:\/\//);
  });
  it('does not blame TLS for a reset on a plain etcd:// connection', () => {
    expect(explainEtcdError(RESET, false)).toBe(RESET);
  });
  it("keeps OpenSSL's wrong-version words as the plain-member case", () => {
    expect(explainEtcdError('14 UNAVAILABLE: ... wrong version number', false)).toMatch(/did not answer TLS/);
  });
});
