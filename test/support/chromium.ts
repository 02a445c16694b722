/**
 * Headless Chromium for the console's browser tests: Debian's `chromium` package at
 * /usr/bin/chromium (scripts/ensure-chromium.sh installs it), driven by playwright-core, which
 * never downloads a browser. Under CI=true a missing Chromium fails the suite; elsewhere it
 * skips with one line that says how to get it.
 */
import * as fs from 'node:fs';
import { chromium, type Browser } from 'playwright-core';

export const CHROMIUM_BIN = '/usr/bin/chromium';
const HOWTO = `${CHROMIUM_BIN} is missing: run \`bash scripts/ensure-chromium.sh\` (apt-get install chromium)`;

let warned = false;
/** For `describe.skipIf(!chromiumAvailable())`. */
export function chromiumAvailable(): boolean {
  if (fs.existsSync(CHROMIUM_BIN)) return true;
  if (process.env.CI === 'true') throw new Error(`CI=true and ${HOWTO}`);
  if (!warned) console.warn(`skipping browser tests: ${HOWTO}`);
  warned = true;
  return false;
}

export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM_BIN,
    headless: true,
    timeout: 30_000,
    // As root in containers Chromium needs --no-sandbox; /dev/shm may be tiny there too.
    args: ['--no-sandbox', '--disable-dev-shm-usage', '--disable-gpu'],
  });
}
