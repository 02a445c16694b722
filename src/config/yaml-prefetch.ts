/**
 * A large config file read on another thread while the start does what it can without it
 * (opening the history, loading Envoy's protos for the xDS port): the fast YAML reader's work
 * (~0.3–0.5 s of CPU at 10,000 services, and its garbage) then leaves the main thread, which
 * parses the value's JSON instead (~10x faster). The document is the same as
 * parseConfigDocument's: the worker hands over only a value JSON holds exactly (else the text is
 * read here, as without it), and checking, errors and freezing stay with the caller.
 */
import { startModuleWorker } from '../util/module-worker';
import { configDocumentSteps, parseConfigDocument, type DocumentResult } from './parse';
import { runSteps } from '../util/steps';

/** Below this size a worker's start costs more than the parse. */
export const PREFETCH_MIN_BYTES = 1 << 20;

export interface YamlPrefetch {
  /** parseConfigDocument(text, sourceName), from the worker's value when it has one. */
  document(sourceName?: string): Promise<DocumentResult>;
  /** Whether the worker handed the value over (else the text is read on this thread). */
  readonly handedOver: Promise<boolean>;
}

/** Starts reading `text` on a worker thread (texts of at least `minBytes`; smaller ones are read on the first call). */
export function prefetchConfigText(text: string, minBytes = PREFETCH_MIN_BYTES): YamlPrefetch {
  const json = text.length >= minBytes ? readOffThread(text) : Promise.resolve(undefined);
  return {
    handedOver: json.then((j) => j !== undefined),
    async document(sourceName) {
      const pre = await json;
      if (pre !== undefined) {
        // A fresh tree only this call holds: adopted as parseConfigDocument adopts the reader's.
        return runSteps(configDocumentSteps(JSON.parse(pre) as unknown, { adopt: true }));
      }
      return parseConfigDocument(text, sourceName);
    },
  };
}

/** The worker's JSON of the text's value, or undefined (not plain YAML, not exact in JSON, the worker failed). */
function readOffThread(text: string): Promise<string | undefined> {
  return new Promise((resolve) => {
    let worker;
    try {
      worker = startModuleWorker(__dirname, 'yaml-prefetch-worker', text);
    } catch {
      resolve(undefined);
      return;
    }
    worker.once('message', (m: { json?: string }) => resolve(m.json));
    worker.once('error', () => resolve(undefined));
    worker.once('exit', () => resolve(undefined));
  });
}
