import type { Command } from 'commander';
import { type CliIo, processIo } from './common';
import { addConfigCommands } from './config';
import { addEndpointCommands } from './endpoints';
import { addExplainCommands } from './explain';
import { addStatusCommands } from './status';
import { addTrafficCommands } from './traffic';
import { addVersionCommands } from './versions';
import { addVerifyCommand } from './verify';
import { addVersionCommand } from './version';
import { addProxyConfigCommand } from './proxy-config';
import { addTranslateCommands } from './translate';

export { type CliIo, processIo } from './common';
export { WAIT_EXIT } from './status';
export { VERIFY_EXIT } from './verify';

/** Mounts the admin API subcommands (apply, get, split, promote, rollback, history, endpoints, status, wait). */
export function addAdminCommands(program: Command, io: CliIo = processIo): void {
  addConfigCommands(program, io);
  addTrafficCommands(program, io);
  addVersionCommands(program, io);
  addEndpointCommands(program, io);
  addStatusCommands(program, io);
  addExplainCommands(program, io);
  addVerifyCommand(program, io);
  addProxyConfigCommand(program, io);
  addTranslateCommands(program, io);
  addVersionCommand(program, io);
}
