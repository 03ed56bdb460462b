import type { Box } from './model.js';

/**
 * Consolidation of several workers' answers into one (Apiary's ACS-BoundingBox and
 * ACS-ImageMultiClass). Pure functions; see README.md "Consolidation" for the method.
 */

export const MATCH_IOU = 0.5;

/** Intersection over union of two boxes, 0 (disjoint) to 1 (identical). */
export function iou(a: Box, b: Box): number {
  const x1 = Math.max(a.left, b.left);
  const y1 = Math.max(a.top, b.top);
  const x2 = Math.min(a.left + a.width, b.left + b.width);
  const y2 = Math.min(a.top + a.height, b.top + b.height);
  const inter = Math.max(0, x2 - x1) * Math.max(0, y2 - y1);
  const union = a.width * a.height + b.width * b.height - inter;
  return union > 0 ? inter / union : 0;
}

export interface WorkerBoxes {
  readonly workerId: string;
  readonly boxes: readonly Box[];
}

export interface ConsolidatedBox extends Box {
  /** In [0, 1]: share of workers who drew the box × their mean IoU with the result; 0 with one worker. */
  readonly confidence: number;
  readonly support: number;
}

interface Member {
  readonly worker: string;
  readonly box: Box;
}

/**
 * Merges the boxes of `answers` (one entry per worker who answered):
 * 1. cluster across workers, class-agnostic: each box joins the cluster whose current mean box it
 *    overlaps most (IoU ≥ {@link MATCH_IOU}) and that has no box of the same worker yet; boxes are
 *    taken largest first so a big box seeds its cluster;
 * 2. drop clusters that fewer than half of the workers drew (`support * 2 < workers`);
 * 3. coordinates = weighted mean, weight = the worker's reliability (default 1) × the box's mean IoU
 *    with the other boxes of its cluster (boxes the others agree with count more);
 * 4. label = weighted vote inside the cluster; confidence = support share × mean IoU to the result.
 */
export function consolidateBoxes(
  answers: readonly WorkerBoxes[],
  reliability: ReadonlyMap<string, number> = new Map(),
): ConsolidatedBox[] {
  const workers = answers.length;
  if (workers === 0) return [];
  const all: Member[] = [];
  for (const a of answers)
    for (const b of a.boxes)
      if (b.width > 0 && b.height > 0) all.push({ worker: a.workerId, box: b });
  all.sort(
    (p, q) =>
      q.box.width * q.box.height - p.box.width * p.box.height || (p.worker < q.worker ? -1 : 1),
  );

  const clusters: { members: Member[]; mean: Box }[] = [];
  for (const m of all) {
    let best = -1;
    let bestIou = MATCH_IOU;
    for (let i = 0; i < clusters.length; i++) {
      const c = clusters[i]!;
      if (c.members.some((x) => x.worker === m.worker)) continue;
      const v = iou(c.mean, m.box);
      if (v >= bestIou) {
        bestIou = v;
        best = i;
      }
    }
    if (best < 0) clusters.push({ members: [m], mean: m.box });
    else {
      const c = clusters[best]!;
      c.members.push(m);
      c.mean = meanBox(
        c.members.map((x) => ({ box: x.box, w: 1 })),
        c.mean.label,
      );
    }
  }

  const out: ConsolidatedBox[] = [];
  for (const c of clusters) {
    const support = c.members.length;
    if (support * 2 < workers) continue;
    const weighted = c.members.map((m) => {
      let agree = 1;
      if (support > 1) {
        let s = 0;
        for (const o of c.members) if (o !== m) s += iou(m.box, o.box);
        agree = s / (support - 1);
      }
      return {
        box: m.box,
        w: (reliability.get(m.worker) ?? 1) * Math.max(agree, 1e-3),
        worker: m.worker,
      };
    });
    const votes = new Map<string, number>();
    for (const x of weighted) votes.set(x.box.label, (votes.get(x.box.label) ?? 0) + x.w);
    const label = [...votes.entries()].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))[0]![0];
    const box = meanBox(weighted, label);
    const meanIou = c.members.reduce((s, m) => s + iou(m.box, box), 0) / support;
    const confidence = workers === 1 ? 0 : round2((support / workers) * meanIou);
    out.push({ ...box, confidence, support });
  }
  // Reading order: top to bottom, left to right.
  out.sort((a, b) => a.top - b.top || a.left - b.left);
  return out;
}

function meanBox(items: readonly { box: Box; w: number }[], label: string): Box {
  let w = 0;
  let x1 = 0;
  let y1 = 0;
  let x2 = 0;
  let y2 = 0;
  for (const { box, w: k } of items) {
    w += k;
    x1 += box.left * k;
    y1 += box.top * k;
    x2 += (box.left + box.width) * k;
    y2 += (box.top + box.height) * k;
  }
  const left = x1 / w;
  const top = y1 / w;
  return { label, left, top, width: x2 / w - left, height: y2 / w - top };
}

/** Rounds pixel boxes the way Ground Truth writes them (integers). */
export const roundBox = <T extends Box>(b: T): T => {
  const left = Math.round(b.left);
  const top = Math.round(b.top);
  return {
    ...b,
    left,
    top,
    width: Math.max(1, Math.round(b.left + b.width) - left),
    height: Math.max(1, Math.round(b.top + b.height) - top),
  };
};

const round2 = (x: number): number => Math.round(x * 100) / 100;

/**
 * Job-level box consolidation: a first pass with equal weights, then each worker's reliability =
 * their mean best-IoU against the first-pass result (over all objects they answered), then a
 * second pass weighted by it. Returns one result per object in the input order.
 */
export function consolidateBoxJob(
  objects: readonly (readonly WorkerBoxes[])[],
): ConsolidatedBox[][] {
  const first = objects.map((answers) => consolidateBoxes(answers));
  const sum = new Map<string, { s: number; n: number }>();
  objects.forEach((answers, i) => {
    const result = first[i]!;
    for (const a of answers) {
      const acc = sum.get(a.workerId) ?? { s: 0, n: 0 };
      for (const b of a.boxes) {
        let best = 0;
        for (const r of result) best = Math.max(best, iou(b, r));
        acc.s += best;
        acc.n += 1;
      }
      // A worker who drew nothing where the others drew boxes missed them.
      acc.n += Math.max(0, result.length - a.boxes.length);
      sum.set(a.workerId, acc);
    }
  });
  const reliability = new Map<string, number>();
  for (const [w, { s, n }] of sum) reliability.set(w, n === 0 ? 1 : Math.max(0.05, s / n));
  return objects.map((answers) => consolidateBoxes(answers, reliability));
}

export interface ClassificationResult {
  readonly label: string;
  readonly confidence: number;
}

/** Single-label: weighted majority vote; confidence = the winner's share of the weight (0 with one worker). */
export function consolidateLabel(
  answers: readonly { workerId: string; label: string }[],
  reliability: ReadonlyMap<string, number> = new Map(),
): ClassificationResult | undefined {
  if (answers.length === 0) return undefined;
  const votes = new Map<string, number>();
  let total = 0;
  for (const a of answers) {
    const w = reliability.get(a.workerId) ?? 1;
    votes.set(a.label, (votes.get(a.label) ?? 0) + w);
    total += w;
  }
  const [label, w] = [...votes.entries()].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))[0]!;
  return { label, confidence: answers.length === 1 ? 0 : round2(w / total) };
}

/** Multi-label: a label is kept when at least half of the workers chose it; confidence = its share. */
export function consolidateLabels(
  answers: readonly { workerId: string; labels: readonly string[] }[],
): ClassificationResult[] {
  const n = answers.length;
  const counts = new Map<string, number>();
  for (const a of answers)
    for (const l of new Set(a.labels)) counts.set(l, (counts.get(l) ?? 0) + 1);
  return [...counts.entries()]
    .filter(([, c]) => c * 2 >= n)
    .map(([label, c]) => ({ label, confidence: n === 1 ? 0 : round2(c / n) }))
    .sort((a, b) => (a.label < b.label ? -1 : 1));
}
