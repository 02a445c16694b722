/**
 * The worker of yaml-prefetch.ts: reads a config text with the fast reader (yaml-source.ts
 * readPlainYaml) and hands back its value as JSON text, when JSON holds it exactly; otherwise
 * nothing, and the caller reads the text itself.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { readPlainYaml } from './yaml-source';
import { jsonExact } from './json-exact';

const text = (workerData as { input: string }).input;
const plain = readPlainYaml(text);
parentPort!.postMessage(plain && plain.value != null && jsonExact(plain.value) ? { json: JSON.stringify(plain.value) } : {});
