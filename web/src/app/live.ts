import { useEffect, useMemo, useState } from 'react';
import { API } from './api.js';

export interface Watch {
  readonly op: string;
  readonly input: Readonly<Record<string, unknown>>;
}

export type LiveValue<T> =
  | { readonly output: T; readonly error?: undefined }
  | { readonly output?: undefined; readonly error: { code: string; message: string } };

export const watchKey = (w: Watch): string => `${w.op} ${JSON.stringify(w.input)}`;

type Listener = (key: string, value: LiveValue<unknown>) => void;

/**
 * One Server-Sent Events stream per tab for everything the open page watches (browsers allow only
 * six HTTP/1.1 connections per host, shared by all tabs). Subscribers come and go; the stream is
 * reopened with the union of their watches, and the latest value of each key is kept so a new
 * subscriber sees it at once.
 */
class LiveClient {
  private readonly subs = new Map<number, { watches: readonly Watch[]; listener: Listener }>();
  private readonly latest = new Map<string, LiveValue<unknown>>();
  private source: EventSource | undefined;
  private spec = '';
  private timer: ReturnType<typeof setTimeout> | undefined;
  private nextId = 0;

  subscribe(watches: readonly Watch[], listener: Listener): () => void {
    const id = ++this.nextId;
    this.subs.set(id, { watches, listener });
    for (const w of watches) {
      const v = this.latest.get(watchKey(w));
      if (v) listener(watchKey(w), v);
    }
    this.schedule();
    return () => {
      this.subs.delete(id);
      this.schedule();
    };
  }

  private schedule(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => this.reopen(), 30);
  }

  private reopen(): void {
    const union = new Map<string, Watch>();
    for (const s of this.subs.values())
      for (const w of s.watches) union.set(watchKey(w), { op: w.op, input: w.input });
    const spec = union.size ? JSON.stringify([...union.values()]) : '';
    if (spec === this.spec) return;
    this.spec = spec;
    this.source?.close();
    this.source = undefined;
    for (const k of this.latest.keys()) if (!union.has(k)) this.latest.delete(k);
    if (!spec) return;
    const source = new EventSource(`${API}/events?w=${encodeURIComponent(spec)}`);
    source.addEventListener('update', (ev) => {
      const data = JSON.parse((ev as MessageEvent<string>).data) as {
        key: string;
        output?: unknown;
        error?: { code: string; message: string };
      };
      const value: LiveValue<unknown> = data.error
        ? { error: data.error }
        : { output: data.output };
      this.latest.set(data.key, value);
      for (const s of this.subs.values())
        if (s.watches.some((w) => watchKey(w) === data.key)) s.listener(data.key, value);
    });
    this.source = source;
  }
}

const client = new LiveClient();

/**
 * Live state of read-only SageMaker operations (and console views): the server polls each watched
 * resource once for every tab and pushes only changes. Returns the latest answer per watch
 * (undefined until the first one arrives). Pass a stable list (useMemo).
 */
export function useLive<T = Record<string, unknown>>(
  watches: readonly Watch[] | undefined,
): ReadonlyMap<string, LiveValue<T>> {
  const [values, setValues] = useState<ReadonlyMap<string, LiveValue<T>>>(new Map());
  const spec = useMemo(
    () =>
      watches && watches.length > 0
        ? JSON.stringify(watches.map((w) => ({ op: w.op, input: w.input })))
        : undefined,
    [watches],
  );
  useEffect(() => {
    if (!spec) return;
    const parsed = JSON.parse(spec) as Watch[];
    return client.subscribe(parsed, (key, value) =>
      setValues((prev) => {
        const next = new Map(prev);
        next.set(key, value as LiveValue<T>);
        return next;
      }),
    );
  }, [spec]);
  return values;
}

/** One watched resource: the latest output, or undefined. */
export function useLiveOne<T = Record<string, unknown>>(
  watch: Watch | undefined,
): LiveValue<T> | undefined {
  const key = watch ? watchKey(watch) : '';
  const watches = useMemo(() => (watch ? [watch] : undefined), [key]); // eslint-disable-line react-hooks/exhaustive-deps
  const values = useLive<T>(watches);
  return watch ? values.get(watchKey(watch)) : undefined;
}
