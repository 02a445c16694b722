import * as fs from 'node:fs';
import * as grpc from '@grpc/grpc-js';
import { formatErrors, parseConfigText, DEFAULT_CONFIG_YAML } from '../config';
import type { FieldError } from '../config';
import type { TetherConfig } from '../model/types';
import { translate } from '../translate';
import { NODE_KINDS, type NodeKind, type ResolvedEndpoints } from '../translate/types';
import { buildSnapshot } from '../cache/snapshot';
import type { Snapshot } from '../cache/snapshot';
import { SnapshotCache } from '../cache/snapshot-cache';
import { addAdsService } from '../xds/ads-server';
import { NodeRegistry } from '../xds/node-status';
import { createEndpointResolver, type EndpointResolver } from '../resolve/resolver';
import type { Logger } from '../log';
import { contentHash } from '../util/content-hash';
import { watchConfigFile } from './config-file-watcher';

export interface TetherOptions {
  /** Config file to serve and watch; absent → the built-in default config. */
  configPath?: string;
  /** Where the xDS (ADS) server listens. Default 0.0.0.0:18000. */
  xdsHost?: string;
  xdsPort?: number;
  /** How often DNS names in endpoints are re-resolved. Default 30 s. */
  resolveIntervalMs?: number;
  /** Inject a DNS lookup (tests). */
  lookup?: (host: string) => Promise<string[]>;
  /** Watch configPath and apply edits live (default true). */
  watch?: boolean;
  logger: Logger;
}

export type ApplyResult = { ok: true; version: string; changed: boolean } | { ok: false; errors: FieldError[] };

export interface Tether {
  readonly xdsPort: number;
  readonly cache: SnapshotCache;
  readonly registry: NodeRegistry;
  /** The config being served and its content version. */
  current(): { config: TetherConfig; version: string };
  /** Validates and applies a config file's text; on any error nothing changes. */
  applyText(text: string, source: string): Promise<ApplyResult>;
  close(): Promise<void>;
}

export const DEFAULT_XDS_PORT = 18000;

/** Starts Tether: config → model → translate → snapshot cache → ADS streams. */
export async function startTether(options: TetherOptions): Promise<Tether> {
  const logger = options.logger;
  const cache = new SnapshotCache();
  const registry = new NodeRegistry();
  let served: { config: TetherConfig; version: string } | undefined;

  const publish = (config: TetherConfig, version: string, endpoints: ResolvedEndpoints) => {
    // Build every kind's snapshot before publishing any, so an encoding failure leaves the
    // previous config served everywhere (never half-applied).
    const snapshots = new Map<NodeKind, Snapshot>();
    for (const kind of NODE_KINDS) snapshots.set(kind, buildSnapshot(translate(config, endpoints, kind), kind, version));
    for (const [kind, snapshot] of snapshots) cache.set(kind, snapshot);
  };

  const resolver: EndpointResolver = createEndpointResolver({
    ...(options.lookup ? { lookup: options.lookup } : {}),
    ...(options.resolveIntervalMs !== undefined ? { intervalMs: options.resolveIntervalMs } : {}),
    logger: logger.child({ component: 'resolver' }),
    onChange: (endpoints) => {
      if (!served) return;
      try {
        publish(served.config, served.version, endpoints);
        logger.info({ version: served.version }, 'endpoints re-resolved; pushed');
      } catch (err) {
        logger.error({ err: (err as Error).message }, 'could not publish re-resolved endpoints; keeping previous');
      }
    },
  });

  const applyText = async (text: string, source: string): Promise<ApplyResult> => {
    const parsed = parseConfigText(text, source);
    if (!parsed.ok) {
      logger.error({ source, errors: parsed.errors }, `config rejected; still serving ${served?.version ?? 'nothing'}:\n${formatErrors(parsed.errors)}`);
      return { ok: false, errors: parsed.errors };
    }
    const version = contentHash(parsed.config);
    if (served && served.version === version) return { ok: true, version, changed: false };
    try {
      const endpoints = await resolver.setConfig(parsed.config);
      publish(parsed.config, version, endpoints);
    } catch (err) {
      const errors = [{ path: '', message: `could not translate config: ${(err as Error).message}` }];
      logger.error({ source, err: (err as Error).message }, 'config rejected during translation; keeping previous');
      if (served) await resolver.setConfig(served.config).catch(() => undefined);
      return { ok: false, errors };
    }
    served = { config: parsed.config, version };
    logger.info({ source, version, services: parsed.config.services.length, backends: parsed.config.backends.length }, 'config applied');
    return { ok: true, version, changed: true };
  };

  const initialText = options.configPath ? fs.readFileSync(options.configPath, 'utf8') : DEFAULT_CONFIG_YAML;
  const initial = await applyText(initialText, options.configPath ?? 'built-in default config');
  if (!initial.ok) {
    resolver.close();
    throw new ConfigRejectedError(initial.errors);
  }

  const server = new grpc.Server({ 'grpc.keepalive_permit_without_calls': 1, 'grpc.max_receive_message_length': 16 * 1024 * 1024 });
  addAdsService(server, { cache, logger: logger.child({ component: 'xds' }), status: registry });
  const xdsHost = options.xdsHost ?? '0.0.0.0';
  const xdsPort = await new Promise<number>((resolve, reject) =>
    server.bindAsync(`${xdsHost}:${options.xdsPort ?? DEFAULT_XDS_PORT}`, grpc.ServerCredentials.createInsecure(), (err, port) =>
      err ? reject(err) : resolve(port),
    ),
  );
  logger.info({ xdsPort, host: xdsHost, config: options.configPath ?? 'built-in default' }, 'tether xDS server listening');

  const watcher =
    options.configPath && options.watch !== false
      ? watchConfigFile(options.configPath, {
          logger,
          initialText,
          onChange: (text) => void applyText(text, options.configPath!),
        })
      : undefined;

  return {
    xdsPort,
    cache,
    registry,
    current: () => served!,
    applyText,
    async close() {
      watcher?.close();
      resolver.close();
      // ADS streams never end on their own, so a graceful shutdown would wait forever.
      server.forceShutdown();
    },
  };
}

export class ConfigRejectedError extends Error {
  constructor(readonly errors: FieldError[]) {
    super(`invalid config:\n${formatErrors(errors)}`);
    this.name = 'ConfigRejectedError';
  }
}
