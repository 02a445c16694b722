import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Logger } from '../log';

/**
 * Calls `onChange(text)` when the file's content changes. Watches the directory, not the
 * file, because editors and `kubectl`-style tools replace files by rename, which ends a
 * watch on the old inode. Any event in the directory leads to a read: a Kubernetes ConfigMap
 * volume changes `config.yaml` (a symlink to `..data/config.yaml`) by swapping the `..data`
 * symlink, so no event ever names the file itself. Bursts of events are debounced; identical
 * content is ignored.
 */
export function watchConfigFile(
  file: string,
  options: { debounceMs?: number; logger: Logger; initialText: string; onChange: (text: string) => void },
): { close(): void } {
  const dir = path.dirname(path.resolve(file));
  let lastText = options.initialText;
  let timer: NodeJS.Timeout | undefined;

  const check = () => {
    timer = undefined;
    let text: string;
    try {
      text = fs.readFileSync(file, 'utf8');
    } catch (err) {
      options.logger.warn({ file, err: (err as Error).message }, 'config file unreadable; keeping the running config');
      return;
    }
    if (text === lastText) return;
    lastText = text;
    options.onChange(text);
  };

  const watcher = fs.watch(dir, { persistent: false }, () => {
    if (timer) clearTimeout(timer);
    timer = setTimeout(check, options.debounceMs ?? 100);
    timer.unref();
  });
  watcher.on('error', (err) => options.logger.warn({ file, err: err.message }, 'config file watch failed'));

  return {
    close() {
      watcher.close();
      if (timer) clearTimeout(timer);
    },
  };
}
