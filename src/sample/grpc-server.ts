import * as grpc from '@grpc/grpc-js';
import type { Logger } from 'pino';
import type { HelloReply, SampleServiceHandlers } from './sample-proto';
import { sampleProto } from './sample-proto';
import { checkUser, ReplicaClosingError, type SessionCore } from './session-core';

export interface GrpcHandlerContext {
  id: string;
  version: string;
  core: SessionCore;
  logger: Logger;
}

/** The request's `user` field when set, else the `x-user` metadata (values joined by ","). */
function sessionKey(request: { user: string }, metadata: grpc.Metadata): string | undefined {
  if (request.user) return request.user;
  const values = metadata.get('x-user').filter((v): v is string => typeof v === 'string');
  return values.length > 0 ? values.join(',') : undefined;
}

/** The sample service's full name, as grpc.health.v1 clients ask for it. */
export const SAMPLE_SERVICE_NAME = 'tether.sample.v1.SampleService';

export function createSampleHandlers(ctx: GrpcHandlerContext): SampleServiceHandlers {
  return {
    Hello(call, callback) {
      const checked = checkUser(sessionKey(call.request, call.metadata));
      if (!checked.ok) {
        callback({ code: grpc.status.INVALID_ARGUMENT, details: checked.message });
        return;
      }
      ctx.core.serve(checked.user).then(
        ({ cached, latencyMs }) => {
          const header = new grpc.Metadata();
          header.set('x-replica', ctx.id);
          header.set('x-replica-version', ctx.version);
          call.sendMetadata(header);
          const reply: HelloReply = { replica_id: ctx.id, version: ctx.version, user: checked.user ?? '', cached, latency_ms: latencyMs };
          ctx.logger.debug({ user: checked.user, cached, latencyMs }, 'grpc Hello');
          callback(null, reply);
        },
        (err: unknown) => {
          if (err instanceof ReplicaClosingError) {
            callback({ code: grpc.status.UNAVAILABLE, details: err.message });
            return;
          }
          ctx.logger.error({ err: (err as Error).message }, 'grpc Hello failed');
          callback({ code: grpc.status.INTERNAL, details: 'internal error' });
        },
      );
    },
  };
}

export function addSampleService(server: grpc.Server, ctx: GrpcHandlerContext): void {
  server.addService(sampleProto().SampleService.service, createSampleHandlers(ctx));
}
