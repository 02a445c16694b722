/**
 * A mutation response with many changes is written in turns, as the response without its
 * changes followed by slices of them (src/admin/mutation-wire.ts): decoded, it must be the
 * same message grpc-js's own serializer gives.
 */
import type * as grpc from '@grpc/grpc-js';
import { describe, expect, it } from 'vitest';
import { ADMIN_SERVICE_NAME, adminPackageDefinition } from '../../src/admin/admin-proto';
import { CHANGES_IN_TURNS, encodeMutationResponseInTurns } from '../../src/admin/mutation-wire';
import type { MutationResponse } from '../../src/generated/tether/tether/admin/v1/MutationResponse';

describe('a mutation response written in turns', () => {
  it('decodes to the message the method serializer writes', async () => {
    const method = (adminPackageDefinition()[ADMIN_SERVICE_NAME] as unknown as grpc.ServiceDefinition).ApplyConfig!;
    const changes = Array.from({ length: CHANGES_IN_TURNS * 2 + 7 }, (_, i) => ({
      node_kind: i % 2 ? 'grpc' : 'envoy',
      type: ['LDS', 'RDS', 'CDS', 'EDS'][i % 4]!,
      name: `svc-${i}`,
      action: (['ADDED', 'REMOVED', 'MODIFIED'] as const)[i % 3]!,
      diff: i % 3 === 2 ? `--- a/x\n+++ b/x\n-${i}\n+${i + 1}\n` : '',
    }));
    const response: MutationResponse = {
      version: '42',
      changed: true,
      dry_run: false,
      changes,
      restores: 3,
      warnings: [{ node_kind: 'grpc', path: 'services[a]', message: 'left out' }],
    };
    const inTurns = await encodeMutationResponseInTurns(response);
    const whole = method.responseSerialize(response) as Buffer;
    expect(inTurns.bytes.equals(whole)).toBe(false); // the fields come in another order...
    expect(method.responseDeserialize(inTurns.bytes)).toEqual(method.responseDeserialize(whole)); // ...as the same message
  });
});
