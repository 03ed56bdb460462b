/**
 * Pre-labeling benchmark (not a test): seconds per human bounding-box task with and without model
 * suggestions, on 1,000 generated bee images, with a simulated worker whose action times come from
 * published annotation-time studies (below). The worker's actions are classified by the same
 * `diffSuggestions` the server records (src/shared/suggestion-edits.ts), so the counts here are
 * what the job's pre-labeling summary would show.
 *
 * Run: npx tsx bench/auto-labeling/prelabel.ts   (BENCH_IMAGES=1000, BENCH_SEED=7)
 *
 * Worker time model (seconds):
 * - TASK 2.0: open the task, scan the image, submit (stated assumption, same with and without).
 * - DRAW 7.0: draw one box with a drag tool — extreme clicking, Papadopoulos et al., "Extreme
 *   clicking for efficient object annotation", ICCV 2017 (7.0 s/box); the same paper measures
 *   the classic ImageNet protocol at 34.5 s/box incl. quality checks, and Su et al., "Crowdsourcing
 *   annotations for visual object detection", AAAI-W 2012, 25.5 s for the drawing alone: the
 *   DRAW=25.5 line below shows that regime.
 * - VERIFY 1.6: look at one suggested box and accept it — box verification, Papadopoulos et al.,
 *   "We don't need no bounding-boxes", CVPR 2016 (1.6 s per yes/no box verification).
 * - ADJUST +3.0: drag one or two edges of a suggestion (stated model: two of extreme clicking's
 *   four clicks, ~40 % of DRAW), after VERIFY.
 * - DELETE +0.6: select and press Delete (a click and a key), after VERIFY.
 * - RELABEL +1.0: a label key on a selected box, after VERIFY.
 * The worker keeps a suggestion whose IoU to a true bee is ≥ 0.85 with the right label, adjusts
 * one matched with IoU ≥ 0.3, deletes the rest, and draws every bee no suggestion matched.
 *
 * Detectors are simulated at three qualities (the active-learning loop's early, middle and final
 * rounds): recall, box jitter (σ as a fraction of the box size) and false positives per image.
 */
import { diffSuggestions, rectIou } from '../../src/shared/suggestion-edits.js';
import type { LabeledBox } from '../../src/shared/boxes.js';
import { seededRandom } from '../../src/shared/random.js';

const IMAGES = Number(process.env.BENCH_IMAGES ?? 1000);
const SEED = Number(process.env.BENCH_SEED ?? 7);
const T = { TASK: 2.0, DRAW: 7.0, VERIFY: 1.6, ADJUST: 3.0, DELETE: 0.6, RELABEL: 1.0 };
const KEEP_IOU = 0.85;
const W = 640;
const H = 480;

interface Detector {
  readonly name: string;
  readonly recall: number;
  readonly jitter: number;
  readonly fpPerImage: number;
  readonly wrongLabel: number;
}
const DETECTORS: readonly Detector[] = [
  {
    name: 'early round (recall 0.60, jitter 15 %, 0.8 FP/img)',
    recall: 0.6,
    jitter: 0.15,
    fpPerImage: 0.8,
    wrongLabel: 0.1,
  },
  {
    name: 'middle round (recall 0.85, jitter 8 %, 0.4 FP/img)',
    recall: 0.85,
    jitter: 0.08,
    fpPerImage: 0.4,
    wrongLabel: 0.05,
  },
  {
    name: 'final model (recall 0.95, jitter 4 %, 0.1 FP/img)',
    recall: 0.95,
    jitter: 0.04,
    fpPerImage: 0.1,
    wrongLabel: 0.02,
  },
];

const random = seededRandom(SEED);
const rnd = () => random.next();
const uniform = (a: number, b: number) => a + (b - a) * rnd();
const gauss = () => Math.sqrt(-2 * Math.log(1 - rnd())) * Math.cos(2 * Math.PI * rnd());
const poisson = (l: number) => {
  let k = 0;
  for (let p = rnd(); p > Math.exp(-l); p *= rnd()) k++;
  return k;
};
const clampBox = (b: LabeledBox): LabeledBox => {
  const left = Math.max(0, Math.min(W - 4, b.left));
  const top = Math.max(0, Math.min(H - 4, b.top));
  return {
    label: b.label,
    left,
    top,
    width: Math.max(4, Math.min(W - left, b.width)),
    height: Math.max(4, Math.min(H - top, b.height)),
  };
};

/** One generated image: 1–6 bees (10 % drones) of 40–140 px. */
function scene(): LabeledBox[] {
  const n = 1 + Math.floor(rnd() * 6);
  return Array.from({ length: n }, () => {
    const width = uniform(40, 140);
    const height = width * uniform(0.6, 1.2);
    return clampBox({
      label: rnd() < 0.1 ? 'drone' : 'bee',
      left: uniform(0, W - width),
      top: uniform(0, H - height),
      width,
      height,
    });
  });
}

function detect(truth: readonly LabeledBox[], d: Detector): LabeledBox[] {
  const out: LabeledBox[] = [];
  for (const t of truth) {
    if (rnd() >= d.recall) continue;
    const j = (s: number) => gauss() * d.jitter * s;
    out.push(
      clampBox({
        label: rnd() < d.wrongLabel ? (t.label === 'bee' ? 'drone' : 'bee') : t.label,
        left: t.left + j(t.width),
        top: t.top + j(t.height),
        width: t.width * (1 + j(1)),
        height: t.height * (1 + j(1)),
      }),
    );
  }
  for (let k = poisson(d.fpPerImage); k > 0; k--) {
    const width = uniform(30, 120);
    out.push(
      clampBox({
        label: 'bee',
        left: uniform(0, W - width),
        top: uniform(0, H - width),
        width,
        height: width,
      }),
    );
  }
  return out;
}

/** The simulated worker on one image: their answer and the seconds it took. */
function work(truth: readonly LabeledBox[], suggestions: readonly LabeledBox[]) {
  let s = T.TASK;
  // Which suggestion the worker reads as which bee: best IoU first, one-to-one.
  const pairs: { si: number; ti: number; iou: number }[] = [];
  suggestions.forEach((sg, si) =>
    truth.forEach((t, ti) => {
      const v = rectIou(sg, t);
      if (v >= 0.3) pairs.push({ si, ti, iou: v });
    }),
  );
  pairs.sort((a, b) => b.iou - a.iou);
  const usedS = new Set<number>();
  const usedT = new Set<number>();
  const answer: LabeledBox[] = [];
  for (const p of pairs) {
    if (usedS.has(p.si) || usedT.has(p.ti)) continue;
    usedS.add(p.si);
    usedT.add(p.ti);
    const sg = suggestions[p.si]!;
    const t = truth[p.ti]!;
    s += T.VERIFY;
    if (p.iou < KEEP_IOU) s += T.ADJUST;
    if (sg.label !== t.label) s += T.RELABEL;
    answer.push(p.iou < KEEP_IOU ? t : { ...sg, label: t.label });
  }
  suggestions.forEach((_, si) => {
    if (!usedS.has(si)) s += T.VERIFY + T.DELETE;
  });
  truth.forEach((t, ti) => {
    if (!usedT.has(ti)) {
      s += T.DRAW;
      answer.push(t);
    }
  });
  return { seconds: s, answer };
}

function run(draw: number, scenes: readonly LabeledBox[][]) {
  T.DRAW = draw;
  const boxes = scenes.reduce((n, s) => n + s.length, 0);
  const without = scenes.reduce((sum, t) => sum + work(t, []).seconds, 0) / IMAGES;
  console.log(
    `\nDRAW = ${draw} s/box · ${IMAGES} images, ${boxes} bees (${(boxes / IMAGES).toFixed(2)}/image)`,
  );
  console.log(`  without suggestions: ${without.toFixed(1)} s per task`);
  for (const d of DETECTORS) {
    let secs = 0;
    const c = { kept: 0, moved: 0, deleted: 0, added: 0 };
    for (const t of scenes) {
      const sg = detect(t, d);
      const r = work(t, sg);
      secs += r.seconds;
      for (const e of diffSuggestions(sg, r.answer)) c[e.action]++;
    }
    const per = secs / IMAGES;
    console.log(
      `  with ${d.name}: ${per.toFixed(1)} s per task (${(without / per).toFixed(2)}× faster; ` +
        `kept ${c.kept}, adjusted ${c.moved}, deleted ${c.deleted}, added ${c.added})`,
    );
  }
}

console.log(
  'Pre-labeling: seconds per human box task, simulated worker (see the header for the model)',
);
const scenes = Array.from({ length: IMAGES }, () => scene());
run(7.0, scenes);
run(25.5, scenes);
