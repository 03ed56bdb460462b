/**
 * Serving memory benchmark (never a test): RSS growth of one process while it loads ONE built-in
 * serving instance (src/hosting/runtime/ort-instance.ts) and runs it, per layout and memory
 * setting, each in a fresh process (RSS is per process), against the target "≤ model + 60 MiB".
 *
 *   npx tsx bench/serving/memory.ts [MODEL_DIR]          # the table (default: the test fixture)
 *   npx tsx bench/serving/memory.ts --one MODEL_DIR LANES THREADS ARENA PATTERN YOUNG_MB PREPACK SCAVENGE INIT_ARENA
 *
 * "loaded": RSS growth once every lane's session is ready. "after runs": after 48 runs
 * (BENCH_MEMORY_RUNS) of one image with LANES runs in flight and a full GC of this thread (garbage
 * input buffers excluded). Each row's process also gets its glibc malloc settings in its
 * environment ("before": glibc's defaults; "after": what bin/apiary sets for `apiary serve`).
 * CPU ms/run: the process's CPU time (all threads) per run, steadier than runs/s on a busy machine.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { promisify } from 'node:util';
import v8 from 'node:v8';
import vm from 'node:vm';
import { OrtInstance } from '../../src/hosting/runtime/ort-instance.js';
import { loadDetectorSpec } from '../../src/hosting/runtime/model-spec.js';
import { extractModelArchive } from '../../src/hosting/runtime/artifact.js';

/** RSS and its parts (MiB): private (anonymous) memory, and file pages (code of node and ORT's libraries). */
const mem = () => {
  const status = fs.readFileSync('/proc/self/status', 'utf8');
  const kb = (k: string) =>
    Number(new RegExp(`${k}:\\s+(\\d+) kB`).exec(status)?.[1] ?? NaN) / 1024;
  return { rss: kb('VmRSS'), anon: kb('RssAnon'), file: kb('RssFile') };
};
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const RUNS = Number(process.env.BENCH_MEMORY_RUNS) || 48;

interface One {
  readonly load: number;
  readonly after: number;
  /** Of `after`: private memory; the rest is file pages (library code, shared, paid once per process). */
  readonly afterAnon: number;
  readonly afterFile: number;
  readonly rps: number;
  /** CPU time of the whole process (every thread) per run: less sensitive to other load than runs/s. */
  readonly cpuMs: number;
  readonly modelMiB: number;
}

async function one(args: string[]): Promise<One> {
  const [modelDir, lanes, threads, arena, pattern, young, prepack, scavenge, initArena, second] =
    args;
  v8.setFlagsFromString('--expose-gc');
  const gc = vm.runInNewContext('gc') as () => void;
  const spec = await loadDetectorSpec(modelDir!);
  const nLanes = Number(lanes);
  const create = (id: string) =>
    new OrtInstance(id, path.join(modelDir!, 'model.onnx'), Number(threads), () => {}, nLanes, {
      cpuArena: arena === '1',
      memPattern: pattern === '1',
      youngGenerationMb: Number(young),
      prepacking: prepack === '1',
      scavengeAfterRun: scavenge === '1',
      initializersInArena: initArena !== '0',
    });
  const plane = 3 * spec.height * spec.width;
  const runAll = async (inst: OrtInstance) => {
    let next = 0;
    await Promise.all(
      Array.from({ length: nLanes }, async () => {
        while (next++ < RUNS) {
          const data = new Float32Array(plane).fill(0.5);
          await inst.run({
            [spec.inputName]: { type: 'float32', dims: [1, 3, spec.height, spec.width], data },
          });
        }
      }),
    );
  };
  // SECOND=1: measure a second instance, loaded and run after a first one (what each further
  // instance of a variant costs; the first pays for the libraries' code and the process's arenas).
  const first = second === '1' ? create('first') : undefined;
  if (first) {
    await first.start();
    await runAll(first);
  }
  gc();
  await sleep(200);
  const before = mem();
  const inst = create('probe');
  await inst.start();
  const loaded = mem();
  const t0 = performance.now();
  const cpu0 = process.cpuUsage();
  await runAll(inst);
  const rps = RUNS / ((performance.now() - t0) / 1000);
  const cpu = process.cpuUsage(cpu0);
  const cpuMs = (cpu.user + cpu.system) / 1000 / RUNS;
  gc();
  await sleep(300);
  const after = mem();
  await inst.stop();
  await first?.stop();
  const modelMiB = fs.statSync(path.join(modelDir!, 'model.onnx')).size / 2 ** 20;
  return {
    load: loaded.rss - before.rss,
    after: after.rss - before.rss,
    afterAnon: after.anon - before.anon,
    afterFile: after.file - before.file,
    rps,
    cpuMs,
    modelMiB,
  };
}

async function table(modelDirArg?: string) {
  let modelDir = modelDirArg;
  let work: string | undefined;
  if (!modelDir) {
    const { hostingFixtures } = await import('../../test/fixtures/hosting.js');
    work = fs.mkdtempSync(path.join(os.tmpdir(), 'apiary-bench-memory-'));
    modelDir = path.join(work, 'model');
    await extractModelArchive(
      fs.createReadStream(path.join(await hostingFixtures(), 'detector.tar.gz')),
      modelDir,
    );
  }
  const cores = os.availableParallelism();
  // glibc's allocator settings (read once when a process starts, so each row's process gets them
  // in its environment): what bin/apiary sets for `apiary serve`, and each part of it alone.
  const MALLOC_NONE = {};
  const MALLOC_APIARY = {
    MALLOC_ARENA_MAX: '2',
    MALLOC_MMAP_THRESHOLD_: '131072',
    MALLOC_TRIM_THRESHOLD_: '131072',
  };
  // [label, env, lanes, threads, arena, memPattern, youngMb, prepacking, scavengeAfterRun,
  //  initializersInArena, second instance]
  type Row = [string, Record<string, string>, ...number[]];
  const settings: Row[] = [
    [`${cores} lanes × 1 thread, before`, MALLOC_NONE, cores, 1, 1, 1, 0, 1, 1, 1],
    [`${cores} lanes × 1 thread, malloc only`, MALLOC_APIARY, cores, 1, 1, 1, 0, 1, 1, 1],
    [`${cores} lanes × 1 thread, no mem pattern only`, MALLOC_NONE, cores, 1, 1, 0, 0, 1, 1, 1],
    [`${cores} lanes × 1 thread, after (default)`, MALLOC_APIARY, cores, 1, 1, 0, 0, 1, 1, 1],
    [`1 lane × ${cores} threads, before`, MALLOC_NONE, 1, cores, 1, 1, 0, 1, 1, 1],
    [`1 lane × ${cores} threads, after`, MALLOC_APIARY, 1, cores, 1, 0, 0, 1, 1, 1],
    ['1 lane × 1 thread, before', MALLOC_NONE, 1, 1, 1, 1, 0, 1, 1, 1],
    ['1 lane × 1 thread, after', MALLOC_APIARY, 1, 1, 1, 0, 0, 1, 1, 1],
    [`2nd instance, 1 lane × ${cores} thr, before`, MALLOC_NONE, 1, cores, 1, 1, 0, 1, 1, 1, 1],
    [`2nd instance, 1 lane × ${cores} thr, after`, MALLOC_APIARY, 1, cores, 1, 0, 0, 1, 1, 1, 1],
    [`2nd instance, ${cores} lanes × 1 thr, after`, MALLOC_APIARY, cores, 1, 1, 0, 0, 1, 1, 1, 1],
    // Measured and not adopted:
    [
      `1 lane × ${cores} thr, ARENA_MAX=2 only`,
      { MALLOC_ARENA_MAX: '2' },
      1,
      cores,
      1,
      1,
      0,
      1,
      1,
      1,
    ],
    [
      `1 lane × ${cores} thr, MMAP_THRESHOLD only`,
      { MALLOC_MMAP_THRESHOLD_: '131072' },
      1,
      cores,
      1,
      1,
      0,
      1,
      1,
      1,
    ],
    [
      `1 lane × ${cores} thr, TRIM_THRESHOLD only`,
      { MALLOC_TRIM_THRESHOLD_: '131072' },
      1,
      cores,
      1,
      1,
      0,
      1,
      1,
      1,
    ],
    [`1 lane × ${cores} thr, after + ORT arena off`, MALLOC_APIARY, 1, cores, 0, 0, 0, 1, 1, 1],
    [`1 lane × ${cores} thr, after + weights off-arena`, MALLOC_APIARY, 1, cores, 1, 0, 0, 1, 1, 0],
    [`1 lane × ${cores} thr, after + no prepacking`, MALLOC_APIARY, 1, cores, 1, 0, 0, 0, 1, 1],
    [`1 lane × ${cores} thr, after, no scavenge`, MALLOC_APIARY, 1, cores, 1, 0, 0, 1, 0, 1],
  ];
  const self = new URL(import.meta.url).pathname;
  const out: string[] = [];
  const say = (s = '') => {
    out.push(s);
    process.stdout.write(s + '\n');
  };
  say(
    `serving memory per instance: ${cores} cores, load average ${os.loadavg()[0]!.toFixed(1)}, ${RUNS} runs, one fresh process per row`,
  );
  say(
    `${'setting'.padEnd(44)}${'loaded'.padStart(8)}${'after'.padStart(8)}${'private'.padStart(9)}${'code'.padStart(6)}${'runs/s'.padStart(8)}${'CPU ms/run'.padStart(12)}  MiB; target: after ≤ model + 60 MiB (private part)`,
  );
  for (const [base, env, ...nums] of settings) {
    const label = base;
    const { stdout } = await promisify(execFile)(
      process.execPath,
      [...process.execArgv, self, '--one', modelDir, ...nums.map(String)],
      { maxBuffer: 1 << 20, env: { ...process.env, ...env } },
    );
    const r = JSON.parse(stdout.trim().split('\n').pop()!) as One;
    const over = r.after - r.modelMiB;
    const overAnon = r.afterAnon - r.modelMiB;
    const n = (x: number, w: number) => x.toFixed(0).padStart(w);
    say(
      `${label.padEnd(44)}${n(r.load, 8)}${n(r.after, 8)}${n(r.afterAnon, 9)}${n(r.afterFile, 6)}${r.rps.toFixed(1).padStart(8)}${r.cpuMs.toFixed(1).padStart(12)}  model ${r.modelMiB.toFixed(1)} + ${over.toFixed(0)} ${over <= 60 ? '✓' : '✗'} (+ ${overAnon.toFixed(0)} ${overAnon <= 60 ? '✓' : '✗'})`,
    );
  }
  fs.mkdirSync(path.join(path.dirname(self), '../out'), { recursive: true });
  fs.writeFileSync(
    path.join(path.dirname(self), '../out/serving-memory.txt'),
    out.join('\n') + '\n',
  );
  if (work) fs.rmSync(work, { recursive: true, force: true });
}

const argv = process.argv.slice(2);
(argv[0] === '--one'
  ? one(argv.slice(1)).then((r) => process.stdout.write(JSON.stringify(r) + '\n'))
  : table(argv[0])
).then(
  () => process.exit(0),
  (e) => {
    console.error(e);
    process.exit(1);
  },
);
