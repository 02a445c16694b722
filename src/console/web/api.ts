/**
 * The page's side of the console API: fetch with the admin token (kept in this tab's
 * sessionStorage, never in the URL), and the change feed read from a fetch stream, since
 * EventSource cannot send an Authorization header.
 */
import type { ApiError, ChangeEvent } from '../api-types';

const BASE = '/console/api/';
const TOKEN_KEY = 'tether-console-token';

export class ApiFailure extends Error {
  constructor(readonly status: number, readonly body: ApiError) {
    super(body.error);
  }
}

export const token = {
  get: (): string => sessionStorage.getItem(TOKEN_KEY) ?? '',
  set: (value: string) => (value ? sessionStorage.setItem(TOKEN_KEY, value) : sessionStorage.removeItem(TOKEN_KEY)),
};

function headers(extra: Record<string, string> = {}): Record<string, string> {
  const t = token.get();
  return t ? { ...extra, authorization: `Bearer ${t}` } : extra;
}

async function answer<T>(res: Response): Promise<T> {
  const body = (await res.json().catch(() => ({ error: `HTTP ${res.status}` }))) as T | ApiError;
  if (!res.ok) throw new ApiFailure(res.status, body as ApiError);
  return body as T;
}

export async function get<T>(name: string, params: Record<string, string> = {}): Promise<T> {
  const query = new URLSearchParams(params).toString();
  return answer<T>(await fetch(`${BASE}${name}${query ? `?${query}` : ''}`, { headers: headers() }));
}

export async function post<T>(name: string, body: unknown): Promise<T> {
  return answer<T>(await fetch(`${BASE}${name}`, { method: 'POST', headers: headers({ 'content-type': 'application/json' }), body: JSON.stringify(body) }));
}

/**
 * Calls `onChange` for every `change` event until `signal` aborts; reconnects after a broken
 * stream. `onState` says whether the stream is up (the header's live dot).
 */
export async function followChanges(onChange: (e: ChangeEvent) => void, onState: (live: boolean) => void, signal: AbortSignal): Promise<void> {
  while (!signal.aborted) {
    try {
      const res = await fetch(`${BASE}events`, { headers: headers(), signal });
      if (!res.ok || !res.body) throw new Error(`HTTP ${res.status}`);
      onState(true);
      const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
      let buffer = '';
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buffer += value;
        let end: number;
        while ((end = buffer.indexOf('\n\n')) >= 0) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const data = block.split('\n').find((l) => l.startsWith('data: '));
          if (block.startsWith('event: change') && data) onChange(JSON.parse(data.slice(6)) as ChangeEvent);
        }
      }
    } catch {
      if (signal.aborted) return;
    }
    onState(false);
    await new Promise((r) => setTimeout(r, 1500));
  }
}

/** Doubles in the admin messages are typed number | string (proto JSON allows "NaN"); they arrive as numbers. */
export const percent = (share: number | string, digits = 1): string => `${(Number(share) * 100).toFixed(digits)} %`;
