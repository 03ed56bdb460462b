/**
 * Automated data labeling benchmark (not a test): human tasks needed with and without the
 * active-learning loop on generated bees, the final labels' quality against the generator's truth
 * (mean IoU, machine boxes' precision), and the machine-labelled share per round; ✓/✗ against
 * issue #21's target (≥ 40 % of objects machine-labelled, machine labels' mean IoU ≥ 0.6).
 *
 * Run: npx tsx bench/auto-labeling/loop.ts [--objects 1000] [--size 96] [--pretrain 200]
 *        [--pretrain-epochs 15] [--scratch]
 *
 * An Apiary runs in-process (SQLite, a temp folder). `--pretrain N` trains the built-in detector on
 * N bees of ANOTHER seed first (an ordinary training job and model) and names it as
 * `InitialActiveLearningModelArn`; `--scratch` runs the loop from scratch instead (rounds warm-start
 * from each other either way). Without the loop every object is a human task: the "without" column
 * is the dataset size, which the simulated worker pool answers from the truth (±1 px), so human
 * labels score ≈ 0.9–1 against it.
 */
import { performance } from 'node:perf_hooks';
import { S3Client } from '@aws-sdk/client-s3';
import { SageMakerClient } from '@aws-sdk/client-sagemaker';
import {
  createBeesBucket,
  createBoxJob,
  createWorkerPool,
  pretrainDetector,
  scoreOutput,
  uploadBees,
  workUntilDone,
} from '../../test/auto-labeling-helpers.js';
import { sdkConfig, startTestServer } from '../../test/helpers/server.js';

const arg = (name: string, dflt: string): string => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1]! : dflt;
};
const OBJECTS = Number(arg('objects', '1000'));
const SIZE = Number(arg('size', '96'));
const PRETRAIN = Number(arg('pretrain', '200'));
const PRE_EPOCHS = arg('pretrain-epochs', '15');
const SCRATCH = process.argv.includes('--scratch');
const BUCKET = 'bench-al';

async function main(): Promise<void> {
  const t0 = performance.now();
  const server = await startTestServer(
    { maxRunningTrainingJobs: 1 },
    { APIARY_AUTO_LABELING_MIN_OBJECTS: String(Math.min(1250, OBJECTS)) },
    { tmpPrefix: 'apiary-bench-al-' },
  );
  const sm = new SageMakerClient(sdkConfig(server));
  const s3 = new S3Client({ ...sdkConfig(server), forcePathStyle: true });
  try {
    await createBeesBucket(s3, BUCKET);
    const truth = await uploadBees(s3, {
      bucket: BUCKET,
      prefix: 'input',
      n: OBJECTS,
      seed: 3,
      size: SIZE,
    });
    let initial: string | undefined;
    if (!SCRATCH) {
      await uploadBees(s3, {
        bucket: BUCKET,
        prefix: 'pre',
        n: PRETRAIN,
        seed: 11,
        size: SIZE,
        labelled: true,
      });
      const pre = await pretrainDetector(sm, {
        name: 'bees-pretrained',
        bucket: BUCKET,
        prefix: 'pre',
        size: SIZE,
        samples: PRETRAIN,
        hyperParameters: { epochs: PRE_EPOCHS },
      });
      initial = pre.modelArn;
      console.log(
        `initial model: ${PRETRAIN} bees of another seed, ${SIZE} px, ${PRE_EPOCHS} epochs: ${pre.seconds.toFixed(0)} s, validation mAP ${pre.validationMap?.toFixed(3)}`,
      );
    }
    const { worker, teamArn } = await createWorkerPool(server, sm);
    const tJob = performance.now();
    await createBoxJob(sm, {
      name: 'bees-loop',
      bucket: BUCKET,
      manifest: 'input.manifest',
      teamArn,
      region: server.region,
      auto: true,
      ...(initial ? { initialModelArn: initial } : {}),
    });
    const human = await workUntilDone(sm, worker, 'bees-loop', truth, SIZE);
    const jobSeconds = (performance.now() - tJob) / 1000;
    const q = await scoreOutput(sm, s3, BUCKET, 'bees-loop', truth);
    const rounds = await server.apiary.labeling.autoLabelingRounds('bees-loop');

    const share = q.machine / OBJECTS;
    const pct = (x: number) => `${(100 * x).toFixed(1)} %`;
    console.log(
      `\n== automated data labeling: ${OBJECTS} generated bees, ${SIZE} px, ${initial ? `InitialActiveLearningModelArn (${PRETRAIN} other bees)` : 'from scratch'}`,
    );
    console.log(`human tasks without the loop: ${OBJECTS}`);
    console.log(
      `human tasks with the loop:    ${human.length} (${pct(human.length / OBJECTS)}; saved ${OBJECTS - human.length})`,
    );
    console.log(
      `machine-labelled:             ${q.machine} (${pct(share)}), mean IoU to the truth ${q.machineMeanIou.toFixed(3)}, box precision@0.5 ${q.machine ? q.machinePrecision.toFixed(3) : '-'}`,
    );
    console.log(`all final labels:             mean IoU to the truth ${q.allMeanIou.toFixed(3)}`);
    console.log('round  human  held-out  machine  share-of-dataset  threshold  estimated  notice');
    for (const r of rounds) {
      console.log(
        `${String(r.round).padStart(5)}  ${String(r.humanBatch).padStart(5)}  ${String(r.validation).padStart(8)}  ${String(r.machineLabeled).padStart(7)}  ${pct(r.machineLabeled / OBJECTS).padStart(16)}  ${(r.threshold?.toFixed(3) ?? '-').padStart(9)}  ${(r.estimatedQuality?.toFixed(3) ?? '-').padStart(9)}  ${r.notice ?? ''}`,
      );
    }
    const ok = share >= 0.4 && q.machineMeanIou >= 0.6;
    console.log(
      `${ok ? '✓' : '✗'} issue #21 target: ≥ 40 % machine-labelled (${pct(share)}) at mean IoU ≥ 0.6 (${q.machineMeanIou.toFixed(3)})`,
    );
    console.log(
      `labeling job ${jobSeconds.toFixed(0)} s, total ${((performance.now() - t0) / 1000).toFixed(0)} s (2 shared CPU cores: times vary)`,
    );
  } finally {
    sm.destroy();
    await server.close();
  }
}

await main();
