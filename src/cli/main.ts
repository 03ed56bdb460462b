import { Command } from 'commander';
import { loadSettings, loadRootCredentials, SettingsError } from '../config/index.js';
import { createApiary } from '../api/server.js';
import { registerUsersCommands } from './users.js';
import { registerTrainingCommands } from './training.js';
import { registerTuningCommands } from './tuning.js';
import { registerK8sStageCommands } from './k8s-stage.js';
import { tuneGcForStreaming } from '../shared/gc-tuning.js';
import { registerServeModelCommand } from './serve-model.js';
import { DEMO_EPOCHS, DEMO_IMAGE_SHAPE } from './demo-recipe.js';
import { exitWhenOutputCloses } from './output.js';

const program = new Command();
program.name('apiary').description("Apiary: a self-hosted ML platform that speaks SageMaker's API");
// Commands people pipe into `head`/`less` end quietly when the reader leaves. Servers and pod steps
// keep failing loudly: a service whose log pipe broke must not look like a clean exit.
const LONG_RUNNING = new Set(['serve', 'serve-model', 'k8s-stage']);
program.hook('preAction', (_program, action) => {
  let top = action;
  while (top.parent && top.parent !== program) top = top.parent;
  if (!LONG_RUNNING.has(top.name())) exitWhenOutputCloses();
});

program
  .command('serve')
  .description('run the Apiary server on the embedded defaults (or what APIARY_* settings say)')
  .action(async () => {
    tuneGcForStreaming();
    const settings = loadSettings();
    const apiary = await createApiary(settings);
    const url = await apiary.listen();
    const c = apiary.credentials;
    process.stdout.write(`Apiary is listening on ${url} (data in ${settings.dataDir})\n`);
    if (c.generated && process.stdout.isTTY) {
      // Shown once, and only to a person at a terminal: a service manager's stdout is a log.
      process.stdout.write(
        `Generated root credentials (kept in ${c.file}; show them again with 'apiary credentials'):\n` +
          `  aws_access_key_id = ${c.accessKeyId}\n  aws_secret_access_key = ${c.secretAccessKey}\n`,
      );
    } else if (c.generated) {
      process.stdout.write(
        `Generated root credentials in ${c.file} (mode 0600; not printed here, since this output may be a log): read them with 'apiary credentials'\n`,
      );
    }
    let stopping = false;
    const stop = (signal: string) => {
      if (stopping) return;
      stopping = true;
      process.stdout.write(`${signal}: shutting down (in-flight requests finish)…\n`);
      apiary.close().then(
        () => process.exit(0),
        (err) => {
          process.stderr.write(`shutdown failed: ${String(err)}\n`);
          process.exit(1);
        },
      );
    };
    process.on('SIGTERM', () => stop('SIGTERM'));
    process.on('SIGINT', () => stop('SIGINT'));
  });

program
  .command('credentials')
  .description('print the root credentials and an ~/.aws/config profile for Apiary')
  .option('--json', 'print JSON')
  .action((opts: { json?: boolean }) => {
    const settings = loadSettings();
    const c = loadRootCredentials(settings, false);
    if (!c) {
      process.stderr.write(
        `No credentials yet in ${settings.dataDir}: start Apiary once with 'apiary serve'.\n`,
      );
      process.exit(1);
    }
    const host = settings.host === '0.0.0.0' ? '127.0.0.1' : settings.host;
    const endpoint = `http://${host}:${settings.port}`;
    if (opts.json) {
      process.stdout.write(
        JSON.stringify({
          accessKeyId: c.accessKeyId,
          secretAccessKey: c.secretAccessKey,
          endpoint,
          region: settings.region,
        }) + '\n',
      );
      return;
    }
    process.stdout.write(
      `aws_access_key_id = ${c.accessKeyId}\naws_secret_access_key = ${c.secretAccessKey}\n\n` +
        `# ~/.aws/config\n[profile apiary]\nregion = ${settings.region}\nendpoint_url = ${endpoint}\n\n` +
        `# ~/.aws/credentials\n[apiary]\naws_access_key_id = ${c.accessKeyId}\naws_secret_access_key = ${c.secretAccessKey}\n`,
    );
  });

program
  .command('demo')
  .description('run a demo end to end')
  .argument(
    '<name>',
    "the demo to run: 'bees' (generate, upload, split, train, deploy, invoke, draw)",
  )
  .option(
    '--endpoint-url <url>',
    'use the Apiary at this URL (default: a running local one, else start one)',
  )
  .option('--out <dir>', 'where the dataset and annotated PNGs go', './bees-demo')
  .option('--images <n>', 'labelled images to generate', '500')
  .option('--epochs <n>', 'training epochs', String(DEMO_EPOCHS))
  .option(
    '--network <name>',
    'base network: mobilenet-v3 (fast on CPU), resnet-50 or vgg-16',
    'mobilenet-v3',
  )
  .option('--image-shape <px>', 'training and serving input size', String(DEMO_IMAGE_SHAPE))
  .option('--bucket <name>', 'bucket for the dataset and the model', 'apiary-demo-bees')
  .option('--seed <n>', 'dataset and split seed', '0')
  .option(
    '--threshold <score>',
    'draw boxes with at least this score (default: the best-F1 threshold on the validation images)',
  )
  .option('--cleanup', 'delete the endpoint, config, model and uploaded objects at the end')
  .option('--keep-serving', 'when the demo started Apiary itself, keep it running afterwards')
  .action(async (name: string, o: Record<string, string | boolean | undefined>) => {
    if (name !== 'bees') {
      process.stderr.write(`apiary: unknown demo '${name}'; available: bees\n`);
      process.exit(2);
    }
    const { runDemo } = await import('./demo.js');
    const int = (v: unknown, flag: string): number => {
      const n = Number(v);
      if (!Number.isInteger(n) || n <= 0)
        throw new Error(`${flag} '${String(v)}': expected a positive integer`);
      return n;
    };
    const score = (v: unknown): number => {
      const n = Number(v);
      if (!Number.isFinite(n) || n < 0 || n > 1)
        throw new Error(`--threshold '${String(v)}': expected a number between 0 and 1`);
      return n;
    };
    const network = String(o.network);
    if (!['mobilenet-v3', 'resnet-50', 'vgg-16'].includes(network)) {
      throw new Error(`--network '${network}': expected mobilenet-v3, resnet-50 or vgg-16`);
    }
    await runDemo({
      endpointUrl: o.endpointUrl as string | undefined,
      out: String(o.out),
      images: int(o.images, '--images'),
      epochs: int(o.epochs, '--epochs'),
      network: network as 'mobilenet-v3',
      imageShape: int(o.imageShape, '--image-shape'),
      bucket: String(o.bucket),
      seed: Number(o.seed ?? 0),
      cleanup: Boolean(o.cleanup),
      keepServing: Boolean(o.keepServing),
      threshold: o.threshold === undefined ? undefined : score(o.threshold),
    });
  });

registerUsersCommands(program);
registerTrainingCommands(program);
registerTuningCommands(program);
registerK8sStageCommands(program);
registerServeModelCommand(program);

program.parseAsync(process.argv).catch((err: unknown) => {
  if (err instanceof SettingsError) {
    process.stderr.write(`apiary: ${err.message}\n`);
    process.exit(2);
  }
  process.stderr.write(`apiary: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
