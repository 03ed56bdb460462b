import { compileMetricRegex, type MetricDefinition } from './spec.js';

/** The built-in object-detection algorithm's metric definitions (SageMaker's exact regexes). */
export const OBJECT_DETECTION_METRICS: readonly MetricDefinition[] = [
  { name: 'train:progress', regex: '#progress_metric: host=\\S+, completed (\\S+) %' },
  {
    name: 'train:smooth_l1',
    regex: '#quality_metric: host=\\S+, epoch=\\S+, batch=\\S+ train smooth_l1 <loss>=(\\S+)',
  },
  {
    name: 'train:cross_entropy',
    regex: '#quality_metric: host=\\S+, epoch=\\S+, batch=\\S+ train cross_entropy <loss>=(\\S+)',
  },
  {
    name: 'train:throughput',
    regex: '#throughput_metric: host=\\S+, train throughput=(\\S+) records/second',
  },
  {
    name: 'validation:mAP',
    regex: '#quality_metric: host=\\S+, epoch=\\S+, validation mAP <score>=\\((\\S+)\\)',
  },
];

export interface MetricPoint {
  readonly metricName: string;
  readonly value: number;
  readonly timestampMs: number;
}

/**
 * Matches log lines against metric definitions: the first capture group (or the whole match
 * when the regex has none) parsed as a float. Non-finite values are ignored, as SageMaker does.
 */
export class MetricExtractor {
  private readonly compiled: { name: string; re: RegExp }[];

  constructor(definitions: readonly MetricDefinition[]) {
    const seen = new Set<string>();
    this.compiled = [];
    for (const d of definitions) {
      if (seen.has(d.name)) continue;
      seen.add(d.name);
      this.compiled.push({ name: d.name, re: compileMetricRegex(d.regex, d.name) });
    }
  }

  get size(): number {
    return this.compiled.length;
  }

  /** The compiled definitions (deduplicated by name, first wins). */
  definitions(): readonly { readonly name: string; readonly re: RegExp }[] {
    return this.compiled;
  }

  extract(line: string, timestampMs: number): MetricPoint[] {
    const out: MetricPoint[] = [];
    for (const { name, re } of this.compiled) {
      const m = re.exec(line);
      if (!m) continue;
      const raw = m[1] ?? m[0];
      const value = Number.parseFloat(raw);
      if (Number.isFinite(value)) out.push({ metricName: name, value, timestampMs });
    }
    return out;
  }
}

/** Merges user definitions over the built-in ones (a user definition with the same name wins). */
export function mergeMetricDefinitions(
  builtIn: readonly MetricDefinition[],
  user: readonly MetricDefinition[],
): MetricDefinition[] {
  const names = new Set(user.map((d) => d.name));
  return [...builtIn.filter((d) => !names.has(d.name)), ...user];
}
