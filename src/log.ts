import pino from 'pino';

export type Logger = pino.Logger;

/**
 * Pino JSON logs on stdout (stderr would mix with CLI output). Level from TETHER_LOG_LEVEL
 * (default info); `silent` in tests keeps output readable. The level is written as its name
 * (`"level":"warn"`), which log pipelines (Loki, Elasticsearch, jq) read without pino's number table.
 */
export function createLogger(options: { level?: string; name?: string } = {}): Logger {
  return pino({
    name: options.name ?? 'tether',
    level: options.level ?? process.env.TETHER_LOG_LEVEL ?? 'info',
    base: { pid: process.pid },
    formatters: { level: (label) => ({ level: label }) },
    timestamp: pino.stdTimeFunctions.isoTime,
  });
}

/** A logger that drops everything (tests, library use). */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
