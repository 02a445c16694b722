/**
 * Parsers for command-line values. Each throws commander's InvalidArgumentError (shown with
 * the usage) or a CliError with a message that says what to write instead.
 */
import { InvalidArgumentError, type Command } from 'commander';
import { parseDuration } from '../config/durations';
import { CliError } from './errors';

const UINT32_MAX = 0xffff_ffff;

/**
 * A duration such as `30s`, `500ms` or `1m30s`, in milliseconds. Commander prefixes the message
 * with the flag (`option '--push-debounce <duration>' argument '200' is invalid.`). A bare
 * number is refused (is `200` milliseconds or seconds?) except 0, which is 0 in any unit.
 */
export function durationArg(value: string): number {
  if (/^0+$/.test(value.trim())) return 0;
  const parsed = parseDuration(value);
  if ('error' in parsed) {
    if (/^\d+(\.\d+)?$/.test(value.trim())) throw new InvalidArgumentError(`missing unit: write e.g. ${value.trim()}ms or ${value.trim()}s`);
    throw new InvalidArgumentError(parsed.error);
  }
  return parsed.ms;
}

/** A duration (see durationArg) greater than zero. */
export function positiveDurationArg(value: string): number {
  const ms = durationArg(value);
  if (ms <= 0) throw new InvalidArgumentError('must be longer than 0 (e.g. 30s)');
  return ms;
}

/** A duration of whole seconds within [min, max] s (etcd leases count in seconds), as a number of seconds. */
export function wholeSecondsArg(min: number, max: number): (value: string) => number {
  return (value) => {
    const ms = durationArg(value);
    if (ms % 1000 !== 0) throw new InvalidArgumentError('must be whole seconds (e.g. 10s)');
    if (ms < min * 1000 || ms > max * 1000) throw new InvalidArgumentError(`must be between ${min}s and ${max}s`);
    return ms / 1000;
  };
}

/** A config version: a positive integer, kept as a decimal string (the API's uint64). */
export function versionArg(value: string): string {
  if (!/^\d+$/.test(value) || /^0+$/.test(value)) throw new InvalidArgumentError('expected a version number (1, 2, 3…)');
  return value.replace(/^0+/, '');
}

/** A non-negative integer that fits the API's uint32 (weights). */
export function uint32Arg(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || n > UINT32_MAX) throw new InvalidArgumentError(`expected an integer in 0..${UINT32_MAX}`);
  return n;
}

export interface SplitArgs {
  service: string;
  /** Empty when the service's only route is meant. */
  route: string;
  weights: Record<string, number>;
}

/**
 * `SERVICE [ROUTE] backend=weight...`: the first word without `=` after the service is the
 * route; `--route` says the same and must agree with it.
 */
export function parseSplitArgs(service: string, words: readonly string[], routeFlag?: string): SplitArgs {
  let route = routeFlag ?? '';
  const weights: Record<string, number> = {};
  words.forEach((word, i) => {
    const eq = word.indexOf('=');
    if (eq < 0) {
      if (i !== 0) throw new CliError(`'${word}': expected backend=weight (e.g. v2=10); the route name goes right after the service`);
      if (routeFlag && routeFlag !== word) throw new CliError(`route given twice: '${word}' and --route '${routeFlag}'`);
      route = word;
      return;
    }
    const backend = word.slice(0, eq).trim();
    const text = word.slice(eq + 1).trim();
    if (!backend) throw new CliError(`'${word}': missing backend name before '='`);
    if (!/^\d+$/.test(text) || Number(text) > UINT32_MAX) throw new CliError(`'${word}': weight must be a whole number >= 0`);
    if (backend in weights) throw new CliError(`backend '${backend}' given twice`);
    weights[backend] = Number(text);
  });
  if (Object.keys(weights).length === 0) throw new CliError('no weights given: write backend=weight for each backend, e.g. `tether split shop v1=90 v2=10`');
  if (Object.values(weights).every((w) => w === 0)) throw new CliError('the weights must not all be 0');
  return { service, route, weights };
}

/** For repeatable options: `--node a --node b`. */
export function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

/** A TCP port, 0 (any free port) to 65535. */
export function portArg(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || n > 65535) throw new InvalidArgumentError('must be a port number (0-65535)');
  return n;
}

export function positiveIntArg(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || n < 1) throw new InvalidArgumentError('must be a positive integer');
  return n;
}

export function nonNegativeIntArg(value: string): number {
  if (!/^\d+$/.test(value)) throw new InvalidArgumentError('must be a whole number (0 or more)');
  return Number(value);
}

/**
 * `--<prefix>-host` and `--<prefix>-port` (or `--host`/`--port` without a prefix) for a
 * listener, each defaulting to its environment variable (`<env>_HOST`, `<env>_PORT`), then to
 * `host` and `port`.
 */
export function listenOptions(command: Command, o: { prefix?: string; what: string; env: string; host: string; port: number; portNote?: string }): Command {
  const env = process.env;
  const flag = (name: string) => (o.prefix ? `--${o.prefix}-${name}` : `--${name}`);
  const envPort = env[`${o.env}_PORT`];
  return command
    .option(`${flag('host')} <host>`, `${o.what} listen address [env ${o.env}_HOST]`, env[`${o.env}_HOST`] ?? o.host)
    .option(`${flag('port')} <port>`, `${o.what} port${o.portNote ? ` (${o.portNote})` : ''} [env ${o.env}_PORT]`, portArg, envPort ? portArg(envPort) : o.port);
}
