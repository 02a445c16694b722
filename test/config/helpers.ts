import { expect } from 'vitest';
import { parseConfigText, validateConfig, type FieldError } from '../../src/config';
import type { TetherConfig } from '../../src/model/types';

/** The errors for a config that must be invalid. */
export function errorsOf(input: string | object): FieldError[] {
  const result = typeof input === 'string' ? parseConfigText(input) : validateConfig(input);
  if (result.ok) throw new Error(`expected errors, got a valid config: ${JSON.stringify(result.config)}`);
  return result.errors;
}

/** The model for a config that must be valid. */
export function configOf(input: string | object): TetherConfig {
  const result = typeof input === 'string' ? parseConfigText(input) : validateConfig(input);
  if (!result.ok) throw new Error(`expected a valid config, got:\n${result.errors.map((e) => `${e.path}: ${e.message}`).join('\n')}`);
  return result.config;
}

/** Asserts that exactly this one error is reported. */
export function expectOnlyError(input: string | object, path: string, message: string): void {
  expect(errorsOf(input)).toEqual([{ path, message }]);
}

/**
 * A small valid config with one sticky service; `patch` edits the plain object so each
 * test states only what it breaks.
 */
export function sticky(patch: (c: StickyConfig) => void = () => {}): StickyConfig {
  const c: StickyConfig = {
    listeners: [{ name: 'http', port: 10000 }],
    services: [
      {
        name: 'shop',
        affinity: { keys: [{ header: 'x-user' }] },
        routes: [{ backends: [{ name: 'shop-v1' }] }],
      },
    ],
    backends: [{ name: 'shop-v1', endpoints: ['10.0.0.1:8080'] }],
  };
  patch(c);
  return c;
}

// Loose on purpose: tests put wrong types in these.
export type Loose = Record<string, unknown>;
export interface StickyConfig {
  listeners: Loose[];
  services: Array<Loose & { routes: Array<Loose & { backends: Loose[] }> }>;
  backends: Loose[];
}
