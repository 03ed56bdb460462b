/**
 * Limited-memory BFGS (two-loop recursion) with a backtracking Armijo line search. Only the
 * optimiser loop lives here; it is used on a handful of GP hyperparameters, so vectors are plain
 * arrays and the memory is small.
 */
export interface Objective {
  (x: readonly number[]): { value: number; gradient: number[] };
}

export interface LbfgsOptions {
  /** Iteration cap (default 60). */
  maxIterations?: number;
  /** History pairs kept (default 6). */
  memory?: number;
  /** Stop when the gradient's max-norm falls below this (default 1e-5). */
  gradientTolerance?: number;
}

export interface LbfgsResult {
  x: number[];
  value: number;
  iterations: number;
}

const dot = (a: readonly number[], b: readonly number[]): number => {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]! * b[i]!;
  return s;
};

export function minimizeLbfgs(
  f: Objective,
  start: readonly number[],
  options: LbfgsOptions = {},
): LbfgsResult {
  const maxIterations = options.maxIterations ?? 60;
  const m = options.memory ?? 6;
  const tol = options.gradientTolerance ?? 1e-5;
  let x = [...start];
  let { value, gradient } = f(x);
  if (!Number.isFinite(value)) return { x, value, iterations: 0 };
  const s: number[][] = [];
  const y: number[][] = [];
  let it = 0;
  for (; it < maxIterations; it++) {
    if (Math.max(...gradient.map(Math.abs)) < tol) break;
    // Two-loop recursion: direction = -H * gradient.
    const q = [...gradient];
    const alpha: number[] = [];
    for (let i = s.length - 1; i >= 0; i--) {
      const rho = 1 / dot(y[i]!, s[i]!);
      const a = rho * dot(s[i]!, q);
      alpha[i] = a;
      for (let j = 0; j < q.length; j++) q[j]! -= a * y[i]![j]!;
    }
    let gamma = 1;
    if (s.length > 0)
      gamma = dot(s[s.length - 1]!, y[y.length - 1]!) / dot(y[y.length - 1]!, y[y.length - 1]!);
    for (let j = 0; j < q.length; j++) q[j]! *= gamma;
    for (let i = 0; i < s.length; i++) {
      const rho = 1 / dot(y[i]!, s[i]!);
      const b = rho * dot(y[i]!, q);
      for (let j = 0; j < q.length; j++) q[j]! += s[i]![j]! * (alpha[i]! - b);
    }
    let direction = q.map((v) => -v);
    let slope = dot(direction, gradient);
    if (!(slope < 0)) {
      // Not a descent direction (curvature went bad): restart from steepest descent.
      s.length = 0;
      y.length = 0;
      direction = gradient.map((v) => -v);
      slope = dot(direction, gradient);
    }
    // First step on a fresh history is scaled so it moves at most ~1 unit.
    let step =
      s.length === 0 ? Math.min(1, 1 / Math.max(1e-12, Math.max(...direction.map(Math.abs)))) : 1;
    let accepted = false;
    let next: number[] = x;
    let nextEval = { value, gradient };
    for (let tries = 0; tries < 30; tries++) {
      next = x.map((v, j) => v + step * direction[j]!);
      nextEval = f(next);
      if (Number.isFinite(nextEval.value) && nextEval.value <= value + 1e-4 * step * slope) {
        accepted = true;
        break;
      }
      step *= 0.5;
    }
    if (!accepted) break;
    const sk = next.map((v, j) => v - x[j]!);
    const yk = nextEval.gradient.map((v, j) => v - gradient[j]!);
    if (dot(sk, yk) > 1e-12) {
      s.push(sk);
      y.push(yk);
      if (s.length > m) {
        s.shift();
        y.shift();
      }
    }
    const improvement = value - nextEval.value;
    x = next;
    value = nextEval.value;
    gradient = nextEval.gradient;
    if (improvement < 1e-10 * Math.max(1, Math.abs(value))) break;
  }
  return { x, value, iterations: it };
}
