import { useEffect, useState } from 'preact/hooks';
import { ApiFailure, get } from './api';

export interface Loaded<T> {
  data?: T;
  error?: string;
}

/** GETs `name` now and again whenever `tick` changes (a change event); keeps the last answer while reloading. */
export function useResource<T>(name: string, params: Record<string, string>, tick: number): Loaded<T> {
  const [state, setState] = useState<Loaded<T>>({});
  const key = JSON.stringify(params);
  useEffect(() => {
    let current = true;
    get<T>(name, params).then(
      (data) => current && setState({ data }),
      (err: unknown) => current && setState((s) => ({ ...s, error: err instanceof ApiFailure ? err.message : String(err) })),
    );
    return () => {
      current = false;
    };
  }, [name, key, tick]);
  return state;
}
