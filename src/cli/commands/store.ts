/** `tether store migrate`: copies a config history between a data dir and etcd. */
import { Command } from 'commander';
import { isEtcdUrl } from '../../store/etcd-url';
import { addEtcdOptions, etcdConnection, type EtcdFlags } from '../store-options';
import type { CliIo } from './common';

interface MigrateFlags extends EtcdFlags {
  from: string;
  to: string;
}

export function createStoreCommand(io: CliIo): Command {
  const store = new Command('store').description('the config history itself (Tether stopped on a data dir)');
  const migrate = store
    .command('migrate')
    .description('copy every kept config version from one store into an empty one: a data dir into etcd, or etcd into a data dir')
    .requiredOption('--from <dir|url>', 'a data dir, or etcd://host:port[,…]/prefix')
    .requiredOption('--to <dir|url>', 'an empty data dir, or an etcd prefix with no history');
  addEtcdOptions(migrate).action(async (flags: MigrateFlags) => {
    /* eslint-disable @typescript-eslint/no-require-imports */
    const { migrateHistory } = require('../../store/migrate') as typeof import('../../store/migrate');
    /* eslint-enable @typescript-eslint/no-require-imports */
    const location = (value: string) => (isEtcdUrl(value) ? { etcd: etcdConnection(value, flags)! } : { dir: value });
    try {
      const result = await migrateHistory(location(flags.from), location(flags.to));
      io.stdout(`migrated ${result.versions} version${result.versions === 1 ? '' : 's'} (v${result.first}..v${result.head}) from ${flags.from} to ${flags.to}; current version ${result.head}\n`);
    } catch (err) {
      io.stderr(`tether: store migrate: ${(err as Error).message}\n`);
      process.exitCode = 1;
    }
  });
  return store;
}
