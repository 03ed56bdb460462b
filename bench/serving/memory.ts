/**
 * Serving memory benchmark (never a test): memory growth of one process while it loads ONE built-in
 * serving instance (src/hosting/runtime/ort-instance.ts) and runs it, per layout and memory
 * setting, each in a fresh process (memory is per process), against the target "≤ model + 60 MiB".
 *
 *   npx tsx bench/serving/memory.ts [MODEL_DIR]          # the table (default: the test fixture)
 *   BENCH_MEMORY_ROWS='mapped' npx tsx bench/serving/memory.ts   # only the rows whose label matches
 *   npx tsx bench/serving/memory.ts --one MODEL_DIR LANES THREADS ARENA PATTERN YOUNG_MB PREPACK SCAVENGE INIT_ARENA MAPPED [SECOND]
 *
 * "loaded": RSS growth once every lane's session is ready (a mapped model: including its
 * conversion to ORT format when the copy does not exist yet). The other columns are after 48 runs
 * (BENCH_MEMORY_RUNS) of one image with LANES runs in flight and a full GC of this thread (garbage
 * input buffers excluded): RSS; "phys", RSS with each page of a file counted once (RSS counts a
 * file page once per mapping, and every lane maps the ORT-format model itself); of that "priv"
 * (anonymous memory), "code" (file pages of node's and ORT's libraries, shared and paid once per
 * process) and "model" (the mapped model's pages). Each row's process gets its glibc malloc
 * settings in its environment (what bin/apiary sets for `apiary serve`, or glibc's defaults).
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
import { physKb, smapsRss } from './smaps.js';

/**
 * RSS and its parts (MiB): private (anonymous) memory, file pages (code of node and ORT's
 * libraries, the mapped model); `phys`: RSS with each page of a file counted once (RSS counts a
 * file page once per mapping, and every session maps the ORT-format model itself); `model`: the
 * mapped model's pages, once.
 */
const mem = () => {
  const status = fs.readFileSync('/proc/self/status', 'utf8');
  const kb = (k: string) =>
    Number(new RegExp(`${k}:\\s+(\\d+) kB`).exec(status)?.[1] ?? NaN) / 1024;
  const r = smapsRss('self');
  let model = 0;
  for (const [k, v] of r.fileKb) if (k.endsWith('.ort')) model += v;
  return {
    rss: kb('VmRSS'),
    anon: kb('RssAnon'),
    file: kb('RssFile'),
    phys: physKb(r) / 1024,
    model: model / 1024,
  };
};
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const RUNS = Number(process.env.BENCH_MEMORY_RUNS) || 48;

interface One {
  readonly load: number;
  readonly after: number;
  /** Of `after`: private memory; the rest is file pages (library code, shared, paid once per process). */
  readonly afterAnon: number;
  readonly afterFile: number;
  /** Of `after`, with each file page counted once; and of that the mapped model's pages. */
  readonly afterPhys: number;
  readonly afterModel: number;
  /** Time to load the instance (ms; a mapped model includes its conversion). */
  readonly loadMs: number;
  readonly rps: number;
  /** CPU time of the whole process (every thread) per run: less sensitive to other load than runs/s. */
  readonly cpuMs: number;
  readonly modelMiB: number;
}

async function one(args: string[]): Promise<One> {
  const [
    modelDir,
    lanes,
    threads,
    arena,
    pattern,
    young,
    prepack,
    scavenge,
    initArena,
    mapped,
    second,
  ] = args;
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
      mappedModel: mapped === '1',
    });
  const plane = 3 * spec.height * spec.width;
  const runAll = async (inst: OrtInstance) => {
    let next = 0;
    await Promise.all(
      Array.from({ length: nLanes }, async () => {
        // Each run's input comes back from the worker and is reused, as the variant's TensorPool does.
        let back: Float32Array | undefined;
        while (next++ < RUNS) {
          const data = back ?? new Float32Array(plane).fill(0.5);
          const r = await inst.run({
            [spec.inputName]: { type: 'float32', dims: [1, 3, spec.height, spec.width], data },
          });
          back = r.inputs?.[spec.inputName]?.data as Float32Array | undefined;
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
  const l0 = performance.now();
  await inst.start();
  const loadMs = performance.now() - l0;
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
    afterPhys: after.phys - before.phys,
    afterModel: after.model - before.model,
    loadMs,
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
  //  initializersInArena, mappedModel, second instance]
  type Row = [string, Record<string, string>, ...number[]];
  const C = cores;
  const all: Row[] = [
    // Round 3 (main before this round): every session parses the ONNX file and holds its weights.
    [`${C} lanes × 1 thread, unmapped`, MALLOC_APIARY, C, 1, 1, 0, 0, 1, 1, 1, 0],
    [`1 lane × ${C} threads, unmapped`, MALLOC_APIARY, 1, C, 1, 0, 0, 1, 1, 1, 0],
    [`2nd instance, ${C} lanes, unmapped`, MALLOC_APIARY, C, 1, 1, 0, 0, 1, 1, 1, 0, 1],
    [`2nd instance, 1 lane × ${C} thr, unmapped`, MALLOC_APIARY, 1, C, 1, 0, 0, 1, 1, 1, 0, 1],
    // This round: the ORT-format copy mapped from its file, weights used in place.
    [`${C} lanes × 1 thread, mapped (default)`, MALLOC_APIARY, C, 1, 1, 0, 0, 1, 1, 1, 1],
    [`1 lane × ${C} threads, mapped`, MALLOC_APIARY, 1, C, 1, 0, 0, 1, 1, 1, 1],
    ['1 lane × 1 thread, mapped', MALLOC_APIARY, 1, 1, 1, 0, 0, 1, 1, 1, 1],
    [`2nd instance, ${C} lanes, mapped`, MALLOC_APIARY, C, 1, 1, 0, 0, 1, 1, 1, 1, 1],
    [`2nd instance, 1 lane × ${C} thr, mapped`, MALLOC_APIARY, 1, C, 1, 0, 0, 1, 1, 1, 1, 1],
    // Measured and not adopted:
    [`${C} lanes, mapped, ORT arena off`, MALLOC_APIARY, C, 1, 0, 0, 0, 1, 1, 1, 1],
    [`${C} lanes, mapped, no prepacking`, MALLOC_APIARY, C, 1, 1, 0, 0, 0, 1, 1, 1],
    [`${C} lanes, glibc defaults, mem pattern on`, MALLOC_NONE, C, 1, 1, 1, 0, 1, 1, 1, 0],
  ];
  // BENCH_MEMORY_ROWS: a regular expression that picks rows by label.
  const pick = process.env.BENCH_MEMORY_ROWS ? new RegExp(process.env.BENCH_MEMORY_ROWS) : /./;
  const settings = all.filter(([label]) => pick.test(label));
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
    `${'setting'.padEnd(44)}${'loaded'.padStart(7)}${'RSS'.padStart(6)}${'phys'.padStart(6)}${'priv'.padStart(6)}${'code'.padStart(6)}${'model'.padStart(6)}${'load ms'.padStart(8)}${'CPU ms/run'.padStart(11)}  MiB after runs; target: ≤ model + 60 MiB (phys; phys without code)`,
  );
  for (const [label, env, ...nums] of settings) {
    const { stdout } = await promisify(execFile)(
      process.execPath,
      [...process.execArgv, self, '--one', modelDir, ...nums.map(String)],
      { maxBuffer: 1 << 20, env: { ...process.env, ...env } },
    );
    const r = JSON.parse(stdout.trim().split('\n').pop()!) as One;
    // Code: the file pages that are not the mapped model (ORT's and node's libraries: shared, paid
    // by the first instance of a process).
    const code = r.afterPhys - r.afterAnon - r.afterModel;
    const over = r.afterPhys - r.modelMiB;
    const overNoCode = r.afterPhys - code - r.modelMiB;
    const n = (x: number, w: number) => x.toFixed(0).padStart(w);
    const mark = (x: number) => `+ ${x.toFixed(0)} ${x <= 60 ? '✓' : '✗'}`;
    say(
      `${label.padEnd(44)}${n(r.load, 7)}${n(r.after, 6)}${n(r.afterPhys, 6)}${n(r.afterAnon, 6)}${n(code, 6)}${n(r.afterModel, 6)}${n(r.loadMs, 8)}${r.cpuMs.toFixed(1).padStart(11)}  model ${r.modelMiB.toFixed(1)} ${mark(over)}; ${mark(overNoCode)}`,
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
