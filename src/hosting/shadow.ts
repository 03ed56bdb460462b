import { performance } from 'node:perf_hooks';
import type { Random } from '../shared/random.js';
import { InvokeError } from './runtime/errors.js';
import type { InvokeRequest, InvokeResponse, VariantServer } from './runtime/variant-server.js';

/** Shadow vs production for one shadow variant (the console's side-by-side view). */
export interface ShadowComparison {
  readonly shadowVariant: string;
  readonly productionVariant: string;
  /** Requests copied to the shadow. */
  readonly requests: number;
  readonly shadowErrors: number;
  /** Copies not sent because the shadow already had as many in flight as it admits. */
  readonly skipped: number;
  /** Median / p99 of the shadow's and of production's latency on the same requests, ms. */
  readonly shadowLatencyMs: { readonly p50?: number; readonly p99?: number };
  readonly productionLatencyMs: { readonly p50?: number; readonly p99?: number };
  /** Answers both gave that could be compared (detections JSON). */
  readonly compared: number;
  /** Mean box agreement over compared answers: matched boxes / max(boxes of either), in [0, 1]. */
  readonly boxAgreement?: number;
  /** Answers byte-identical to production's. */
  readonly identical: number;
}

interface Box {
  readonly label: string;
  readonly box: readonly [number, number, number, number];
}

/** Boxes from the built-in detector's answer (`{"prediction": [[label, score, x0, y0, x1, y1], …]}`). */
export function boxesOf(body: Buffer | string): Box[] | undefined {
  try {
    const parsed = JSON.parse(typeof body === 'string' ? body : body.toString('utf8')) as {
      prediction?: unknown;
    };
    if (!Array.isArray(parsed.prediction)) return undefined;
    const out: Box[] = [];
    for (const p of parsed.prediction) {
      if (!Array.isArray(p) || p.length < 6) return undefined;
      out.push({
        label: String(p[0]),
        box: [Number(p[2]), Number(p[3]), Number(p[4]), Number(p[5])],
      });
    }
    return out;
  } catch {
    return undefined;
  }
}

const iou = (a: Box['box'], b: Box['box']): number => {
  const w = Math.max(0, Math.min(a[2], b[2]) - Math.max(a[0], b[0]));
  const h = Math.max(0, Math.min(a[3], b[3]) - Math.max(a[1], b[1]));
  const inter = w * h;
  const union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter;
  return union > 0 ? inter / union : 0;
};

/**
 * Agreement of two sets of boxes: greedy one-to-one matches of the same label with IoU ≥ 0.5,
 * divided by the larger set's size (1 when both are empty).
 */
export function boxAgreement(a: readonly Box[], b: readonly Box[]): number {
  if (a.length === 0 && b.length === 0) return 1;
  const used = new Set<number>();
  let matched = 0;
  for (const x of a) {
    let best = -1;
    let bestIou = 0.5;
    b.forEach((y, j) => {
      if (used.has(j) || y.label !== x.label) return;
      const v = iou(x.box, y.box);
      if (v >= bestIou) {
        best = j;
        bestIou = v;
      }
    });
    if (best >= 0) {
      used.add(best);
      matched += 1;
    }
  }
  return matched / Math.max(a.length, b.length);
}

const WINDOW = 1024;

class Stats {
  requests = 0;
  shadowErrors = 0;
  skipped = 0;
  compared = 0;
  identical = 0;
  agreementSum = 0;
  readonly shadowMs: number[] = [];
  readonly prodMs: number[] = [];
  constructor(readonly production: string) {}
}

const pct = (xs: readonly number[], q: number): number | undefined => {
  if (xs.length === 0) return undefined;
  const s = [...xs].sort((a, b) => a - b);
  return Math.round(s[Math.min(s.length - 1, Math.floor(q * s.length))]! * 100) / 100;
};

const push = (xs: number[], v: number): void => {
  xs.push(v);
  if (xs.length > WINDOW) xs.shift();
};

/** A shadow variant as the mirror sees it. */
export interface ShadowTarget {
  readonly name: string;
  /** Fraction of production traffic copied: shadow weight / production weights, at most 1. */
  readonly sampling: number;
  readonly server: VariantServer;
}

/**
 * Copies production traffic to shadow variants after production has answered (never on the
 * client's path), discards the shadow's answers and keeps its own numbers apart: latency, errors
 * and how far its boxes agree with production's. At most `maxInFlight` copies per shadow run at
 * once; beyond that copies are skipped (counted), so a slow shadow never piles up memory.
 */
export class ShadowMirror {
  private readonly stats = new Map<string, Stats>();
  private readonly inFlight = new Map<string, number>();

  constructor(
    private readonly random: Random,
    private readonly onAnswer: (
      endpoint: string,
      shadow: string,
      res: InvokeResponse,
      totalUs: number,
    ) => void,
    private readonly onError: (endpoint: string, shadow: string, err: InvokeError) => void,
    private readonly maxInFlight = 64,
  ) {}

  mirror(
    endpoint: string,
    production: string,
    prodLatencyMs: number,
    req: InvokeRequest,
    prodRes: InvokeResponse,
    shadows: readonly ShadowTarget[],
  ): void {
    for (const s of shadows) {
      if (s.sampling < 1 && this.random.next() >= s.sampling) continue;
      const key = `${endpoint.toLowerCase()}\0${s.name}`;
      const st = this.stats.get(key) ?? new Stats(production);
      this.stats.set(key, st);
      const busy = this.inFlight.get(key) ?? 0;
      if (busy >= this.maxInFlight) {
        st.skipped += 1;
        continue;
      }
      this.inFlight.set(key, busy + 1);
      st.requests += 1;
      const t0 = performance.now();
      void s.server
        .invoke({ ...req, receivedAt: t0 })
        .then((res) => {
          const ms = performance.now() - t0;
          push(st.shadowMs, ms);
          push(st.prodMs, prodLatencyMs);
          this.onAnswer(endpoint, s.name, res, ms * 1000);
          const a = boxesOf(prodRes.body);
          const b = boxesOf(res.body);
          if (Buffer.from(res.body).equals(Buffer.from(prodRes.body))) st.identical += 1;
          if (a && b) {
            st.compared += 1;
            st.agreementSum += boxAgreement(a, b);
          }
        })
        .catch((e: unknown) => {
          st.shadowErrors += 1;
          const err =
            e instanceof InvokeError
              ? e
              : new InvokeError('InternalFailure', (e as Error)?.message ?? String(e));
          this.onError(endpoint, s.name, err);
        })
        .finally(() => this.inFlight.set(key, (this.inFlight.get(key) ?? 1) - 1));
    }
  }

  /** Shadow vs production numbers for each shadow variant of an endpoint. */
  compare(endpoint: string): ShadowComparison[] {
    const prefix = `${endpoint.toLowerCase()}\0`;
    const out: ShadowComparison[] = [];
    for (const [key, st] of this.stats) {
      if (!key.startsWith(prefix)) continue;
      out.push({
        shadowVariant: key.slice(prefix.length),
        productionVariant: st.production,
        requests: st.requests,
        shadowErrors: st.shadowErrors,
        skipped: st.skipped,
        shadowLatencyMs: { p50: pct(st.shadowMs, 0.5), p99: pct(st.shadowMs, 0.99) },
        productionLatencyMs: { p50: pct(st.prodMs, 0.5), p99: pct(st.prodMs, 0.99) },
        compared: st.compared,
        boxAgreement:
          st.compared > 0 ? Math.round((st.agreementSum / st.compared) * 1000) / 1000 : undefined,
        identical: st.identical,
      });
    }
    return out;
  }

  forget(endpoint: string): void {
    const prefix = `${endpoint.toLowerCase()}\0`;
    for (const key of this.stats.keys()) if (key.startsWith(prefix)) this.stats.delete(key);
  }
}
