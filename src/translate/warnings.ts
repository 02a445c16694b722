import type { TranslateWarning } from './types';

/** Collects warnings in the order the translation meets them (model order: deterministic). */
export class Warnings {
  readonly list: TranslateWarning[] = [];

  add(path: string, message: string): void {
    this.list.push({ path, message });
  }
}

export const servicePath = (service: string): string => `services[${service}]`;
export const routePath = (service: string, route: string): string => `${servicePath(service)}.routes[${route}]`;
export const backendPath = (backend: string): string => `backends[${backend}]`;
