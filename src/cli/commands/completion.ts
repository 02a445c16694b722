/** `tether completion bash|zsh|fish`: prints the shell completion script (src/cli/completion.ts). */
import { Argument, type Command } from 'commander';
import { completionScript, SHELLS, type Shell } from '../completion';
import type { CliIo } from './common';

export function addCompletionCommand(program: Command, io: CliIo): void {
  program
    .command('completion')
    .description('print a shell completion script: source <(tether completion bash), source <(tether completion zsh), tether completion fish | source')
    .addArgument(new Argument('<shell>', 'the shell').choices([...SHELLS]))
    .action((shell: Shell) => {
      // The program as the user runs it: every command is registered by the time this runs.
      io.stdout(completionScript(program, shell));
    });
}
