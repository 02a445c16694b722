/**
 * One elected instance (an etcd election on a lease: when the leader dies, another takes over
 * within the lease TTL) does the work that must not be done by every instance at once, because
 * instances would disagree or race: expiring lease registrations (endpoint-leases.ts).
 */
import type { Campaign, Namespace } from 'etcd3';
import type { Logger } from '../log';

export interface LeaderOptions {
  namespace: Namespace;
  instance: string;
  /** Seconds a dead leader keeps the role. Default 5. */
  ttlSeconds?: number;
  /** How often the leader runs `work`. Default 1000 ms. */
  intervalMs?: number;
  /** The leader's periodic work; a failure is logged and retried next time. */
  work: () => Promise<void>;
  logger: Logger;
}

export interface Leader {
  isLeader(): boolean;
  close(): Promise<void>;
}

export function startLeaderElection(options: LeaderOptions): Leader {
  const log = options.logger.child({ component: 'leader', instance: options.instance });
  const ttl = options.ttlSeconds ?? 5;
  const intervalMs = options.intervalMs ?? 1000;
  let leader = false;
  let closed = false;
  let campaign: Campaign | undefined;
  let timer: NodeJS.Timeout | undefined;
  let retry: NodeJS.Timeout | undefined;

  const tick = () => {
    timer = setTimeout(() => {
      if (!leader || closed) return;
      options
        .work()
        .catch((err: unknown) => log.warn({ err: (err as Error).message }, 'leader work failed; retrying'))
        .finally(() => !closed && leader && tick());
    }, intervalMs);
  };

  const run = () => {
    if (closed) return;
    const c = options.namespace.election('leader', ttl).campaign(options.instance);
    campaign = c;
    c.on('elected', () => {
      if (campaign !== c) return;
      leader = true;
      log.info('elected leader (expires lease registrations)');
      tick();
    });
    c.on('error', (err: Error) => {
      if (campaign !== c || closed) return;
      if (leader) log.warn({ err: err.message }, 'lost leadership');
      leader = false;
      clearTimeout(timer);
      // etcd unreachable or the lease lost: campaign again once it answers.
      retry = setTimeout(run, 1000);
    });
  };
  run();

  return {
    isLeader: () => leader,
    async close() {
      closed = true;
      clearTimeout(timer);
      clearTimeout(retry);
      if (leader) await campaign?.resign().catch(() => undefined);
      leader = false;
    },
  };
}
