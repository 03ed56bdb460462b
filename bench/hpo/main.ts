/**
 * bench/hpo: Apiary's tuning strategies against Optuna (TPE and GP samplers, run side by side in
 * bench/hpo/.venv) and against random search. Prints tables with ratios; never a test.
 *
 *   nice npx tsx bench/hpo/main.ts [--seeds 20] [--trials 30] [--parallel 3]
 */
import { execFileSync, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import os from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { seededRandom } from '../../src/shared/index.js';
import { sampleConfig } from '../../src/tuning/space.js';
import { BayesianSearch } from '../../src/tuning/strategies/bayesian.js';
import { hyperbandToTarget, randomBaseline } from './learning-curves.js';
import { PROBLEMS } from './problems.js';
import { apiaryBayesian, apiaryRandom, runStrategy } from './run-apiary.js';

const here = dirname(fileURLToPath(import.meta.url));
const arg = (name: string, def: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : def;
};
const SEEDS = arg('seeds', 20);
const TRIALS = arg('trials', 30);
const PARALLEL = arg('parallel', 3);
const python = join(here, '.venv/bin/python');
const runner = join(here, 'optuna_runner.py');

const median = (a: readonly number[]) => {
  const s = [...a].sort((x, y) => x - y);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};
const fmt = (v: number) => (Math.abs(v) < 1e-3 ? v.toExponential(2) : v.toPrecision(3));
const pad = (s: string, n: number) => s.padEnd(n);

function checkProblemsAgree(): void {
  const py = JSON.parse(execFileSync(python, [runner, 'check'], { encoding: 'utf8' })) as Record<
    string,
    number
  >;
  const ts: Record<string, number> = {
    branin: PROBLEMS[0]!.f({ x1: 1, x2: 2 }),
    hartmann6: PROBLEMS[1]!.f({ x1: 0.1, x2: 0.2, x3: 0.3, x4: 0.4, x5: 0.5, x6: 0.6 }),
    mixed4d: PROBLEMS[2]!.f({ lr: 1e-3, momentum: 0.5, layers: 3, optimizer: 'rmsprop' }),
  };
  for (const k of Object.keys(ts)) {
    if (Math.abs(ts[k]! - py[k]!) > 1e-9)
      throw new Error(`problem ${k} differs between TypeScript and Python`);
  }
}

function optuna(sampler: string, problem: string): Promise<{ regrets: number[]; version: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      'nice',
      [python, runner, sampler, problem, String(SEEDS), String(TRIALS), String(PARALLEL)],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
        env: { ...process.env, OMP_NUM_THREADS: '1' },
      },
    );
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    child.on('close', (code) => {
      if (code !== 0)
        return reject(new Error(`optuna ${sampler} ${problem} failed: ${err.slice(-500)}`));
      const j = JSON.parse(out) as { regrets: number[]; optuna: string };
      resolve({ regrets: j.regrets, version: j.optuna });
    });
  });
}

async function main(): Promise<void> {
  if (!existsSync(python)) {
    console.error('bench/hpo/.venv is missing: see bench/hpo/README.md');
    process.exit(2);
  }
  const latencyOnly = process.argv.includes('--latency-only');
  if (!latencyOnly) checkProblemsAgree();
  const started = Date.now();
  // One Optuna process at a time runs beside this (synchronous) Node process: two cores in all.
  const optunaResults = new Map<string, { regrets: number[]; version: string }>();
  const queue = latencyOnly
    ? []
    : PROBLEMS.flatMap((p) => ['tpe', 'gp'].map((s) => [s, p.name] as const));
  const optunaDone = (async () => {
    for (const [s, p] of queue) optunaResults.set(`${s}/${p}`, await optuna(s, p));
  })();

  const apiary = new Map<string, number[]>();
  for (const p of latencyOnly ? [] : PROBLEMS) {
    const bayes: number[] = [];
    const rand: number[] = [];
    for (let seed = 0; seed < SEEDS; seed++) {
      bayes.push(runStrategy(p, apiaryBayesian(p), seed, TRIALS, PARALLEL).regret);
      rand.push(runStrategy(p, apiaryRandom(p), seed, TRIALS, PARALLEL).regret);
      await new Promise((r) => setImmediate(r)); // let the Optuna child's pipes drain
    }
    apiary.set(`bayes/${p.name}`, bayes);
    apiary.set(`random/${p.name}`, rand);
  }

  // Hyperband vs Random on synthetic learning curves.
  const hb: { ratio: number | undefined }[] = [];
  for (let seed = 0; seed < (latencyOnly ? 0 : SEEDS); seed++) {
    const base = randomBaseline(seed, TRIALS);
    const spent = hyperbandToTarget(seed, base.best, base.epochs, PARALLEL);
    hb.push({ ratio: spent === undefined ? undefined : spent / base.epochs });
  }

  // Suggestion latency with 200 observations (first call includes a cold hyperparameter fit).
  const latency: { name: string; cold: number; warm: number; coldCpu: number; warmCpu: number }[] =
    [];
  // Warm the JIT on a throwaway strategy first: "cold" below means a hyperparameter fit from
  // scratch in a running server, not a process that has never compiled the code.
  {
    const p = PROBLEMS[0]!;
    const r = seededRandom(5);
    const obs = Array.from({ length: 120 }, () => {
      const config = sampleConfig(p.space, r);
      return { config, loss: p.f(config) };
    });
    new BayesianSearch(p.space, { seed: 2 }).suggest(
      { observations: obs, pending: [], failed: [], trialIndex: 120, random: seededRandom(1) },
      2,
    );
  }
  for (const p of PROBLEMS.slice(0, 3)) {
    const r = seededRandom(99);
    const observations = Array.from({ length: 200 }, () => {
      const config = sampleConfig(p.space, r);
      return { config, loss: p.f(config) };
    });
    const s = new BayesianSearch(p.space, { seed: 1 });
    const ms: number[] = [];
    const cpu: number[] = [];
    for (let k = 0; k < 6; k++) {
      const t0 = performance.now();
      const c0 = process.cpuUsage();
      s.suggest(
        { observations, pending: [], failed: [], trialIndex: 200, random: seededRandom(k) },
        1,
      );
      const c = process.cpuUsage(c0);
      cpu.push((c.user + c.system) / 1000);
      ms.push(performance.now() - t0);
    }
    latency.push({
      name: p.name,
      cold: ms[0]!,
      warm: median(ms.slice(1)),
      coldCpu: cpu[0]!,
      warmCpu: median(cpu.slice(1)),
    });
  }
  await optunaDone;

  const version = optunaResults.values().next().value?.version ?? '?';
  if (latencyOnly) {
    printLatency(latency);
    return;
  }
  console.log(
    `\nbench/hpo — ${SEEDS} seeds, ${TRIALS} trials, ${PARALLEL} in parallel; median simple regret (lower is better); Optuna ${version}\n`,
  );
  console.log(
    [
      pad('problem', 17),
      pad('Apiary Bayes', 13),
      pad('Optuna TPE', 11),
      pad('Optuna GP', 11),
      pad('Random', 10),
      pad('Bayes/TPE', 10),
      pad('Bayes/GP', 10),
      pad('Bayes/Random', 13),
      'pass',
    ].join(''),
  );
  let allPass = true;
  for (const p of PROBLEMS) {
    const b = median(apiary.get(`bayes/${p.name}`)!);
    const r = median(apiary.get(`random/${p.name}`)!);
    const t = median(optunaResults.get(`tpe/${p.name}`)!.regrets);
    const g = median(optunaResults.get(`gp/${p.name}`)!.regrets);
    const pass = b <= t && b <= g && b <= 0.5 * r;
    allPass &&= pass;
    console.log(
      [
        pad(p.name, 17),
        pad(fmt(b), 13),
        pad(fmt(t), 11),
        pad(fmt(g), 11),
        pad(fmt(r), 10),
        pad(fmt(b / t), 10),
        pad(fmt(b / g), 10),
        pad(fmt(b / r), 13),
        pass ? 'yes' : 'NO',
      ].join(''),
    );
  }
  console.log('targets: Bayes/TPE <= 1, Bayes/GP <= 1, Bayes/Random <= 0.5');

  const reached = hb.filter((h) => h.ratio !== undefined).map((h) => h.ratio!);
  // A seed that never reached the target within Random's budget counts as +∞.
  const hbMedian = median(hb.map((h) => h.ratio ?? Number.POSITIVE_INFINITY));
  console.log(
    `\nHyperband vs Random (learning curves, ${TRIALS} random trials x 27 epochs): epochs to reach Random's final best / Random's epochs: median ${fmt(hbMedian)} (reached in ${reached.length}/${hb.length} seeds; worst ${fmt(Math.max(...reached))}); target <= 0.5: ${hbMedian <= 0.5 ? 'yes' : 'NO'}`,
  );
  printLatency(latency);
  console.log(`\nwall time ${((Date.now() - started) / 1000).toFixed(0)} s`);
}

function printLatency(
  latency: readonly {
    name: string;
    cold: number;
    warm: number;
    coldCpu: number;
    warmCpu: number;
  }[],
): void {
  console.log(
    `\nBayesian suggestion latency with 200 observations (ms; limit 200; load average ${os.loadavg()[0]!.toFixed(1)} on ${os.cpus().length} cores):`,
  );
  for (const l of latency) {
    console.log(
      `  ${pad(l.name, 12)} wall: cold ${l.cold.toFixed(0)}, warm median ${l.warm.toFixed(0)} (ratio ${(Math.max(l.cold, l.warm) / 200).toFixed(2)})   ` +
        `CPU time: cold ${l.coldCpu.toFixed(0)}, warm median ${l.warmCpu.toFixed(0)} (ratio ${(Math.max(l.coldCpu, l.warmCpu) / 200).toFixed(2)})`,
    );
  }
}

await main();
