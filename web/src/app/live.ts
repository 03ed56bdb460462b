import { useEffect, useMemo, useState } from 'react';
import { API } from './api.js';

export interface Watch {
  readonly op: string;
  readonly input: Readonly<Record<string, unknown>>;
}

export type LiveValue<T> = { readonly output: T; readonly error?: undefined } | { readonly output?: undefined; readonly error: { code: string; message: string } };

export const watchKey = (w: Watch): string => `${w.op} ${JSON.stringify(w.input)}`;

/**
 * Live state of read-only SageMaker operations over one Server-Sent Events stream: the server
 * polls each watched resource once for every tab and pushes only changes. Returns the latest
 * answer per watch (undefined until the first one arrives). Pass a stable list (useMemo).
 */
export function useLive<T = Record<string, unknown>>(watches: readonly Watch[] | undefined): ReadonlyMap<string, LiveValue<T>> {
  const [values, setValues] = useState<ReadonlyMap<string, LiveValue<T>>>(new Map());
  const spec = useMemo(() => (watches && watches.length > 0 ? JSON.stringify(watches.map((w) => ({ op: w.op, input: w.input }))) : undefined), [watches]);
  useEffect(() => {
    if (!spec) return;
    const source = new EventSource(`${API}/events?w=${encodeURIComponent(spec)}`);
    source.addEventListener('update', (ev) => {
      const data = JSON.parse((ev as MessageEvent<string>).data) as { key: string; output?: T; error?: { code: string; message: string } };
      setValues((prev) => {
        const next = new Map(prev);
        next.set(data.key, data.error ? { error: data.error } : { output: data.output as T });
        return next;
      });
    });
    return () => source.close();
  }, [spec]);
  return values;
}

/** One watched resource: the latest output, or undefined. */
export function useLiveOne<T = Record<string, unknown>>(watch: Watch | undefined): LiveValue<T> | undefined {
  const watches = useMemo(() => (watch ? [watch] : undefined), [watch ? watchKey(watch) : '']); // eslint-disable-line react-hooks/exhaustive-deps
  const values = useLive<T>(watches);
  return watch ? values.get(watchKey(watch)) : undefined;
}
