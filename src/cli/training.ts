import type { Command } from 'commander';
import cliProgress from 'cli-progress';
import { loadSettings } from '../config/index.js';
import { createApiary } from '../api/server.js';
import { isTerminal, type TrainingJobRecord } from '../training/index.js';

/** Opens the data dir the way the server does (all migrations) without running jobs. */
async function withApiary<T>(
  fn: (a: Awaited<ReturnType<typeof createApiary>>) => Promise<T>,
): Promise<T> {
  const apiary = await createApiary({ ...loadSettings(), logLevel: 'silent' });
  try {
    return await fn(apiary);
  } finally {
    await apiary.close();
  }
}

const time = (ms: number) =>
  new Date(ms)
    .toISOString()
    .replace('T', ' ')
    .replace(/\.\d+Z$/, '');

function metricsText(r: TrainingJobRecord): string {
  return r.finalMetrics
    .filter((m) => m.metricName !== 'train:progress')
    .map((m) => `${m.metricName}=${Number(m.value.toPrecision(4))}`)
    .join(' ');
}

/** `apiary logs <job> [--follow]` and `apiary images register|list|remove`. */
export function registerTrainingCommands(program: Command): void {
  program
    .command('logs <job>')
    .description(
      "print a training job's log; --follow keeps printing, with its status, epoch and metrics",
    )
    .option('-f, --follow', 'follow until the job ends, with a progress bar')
    .option('--from <seq>', 'start at this line number', '0')
    .action(async (job: string, opts: { follow?: boolean; from: string }) => {
      await withApiary(async (a) => {
        let record = await a.training.describe(job).catch(() => undefined);
        if (!record) {
          process.stderr.write(`apiary: training job '${job}' does not exist\n`);
          process.exit(1);
        }
        let seq = Number(opts.from) || 0;
        const print = async (out: (s: string) => void) => {
          for (;;) {
            const r = await a.training.readLogs(record!.name, seq, 1000);
            for (const l of r.lines) out(`${time(l.timestampMs)}  ${l.message}\n`);
            seq = r.next;
            if (r.lines.length < 1000) return r.lines;
          }
        };
        if (!opts.follow) {
          await print((s) => process.stdout.write(s));
          return;
        }
        const tty = Boolean(process.stdout.isTTY);
        const multi = new cliProgress.MultiBar(
          {
            format: ' {bar} {percentage}% | {status} | epoch {epoch} | {metrics}',
            hideCursor: true,
            clearOnComplete: false,
            stopOnComplete: false,
            noTTYOutput: false,
          },
          cliProgress.Presets.shades_classic,
        );
        const bar = tty ? multi.create(100, 0, { status: '', epoch: '-', metrics: '' }) : undefined;
        let epoch = '-';
        let lastStatus = '';
        const out = (s: string) => (tty ? multi.log(s) : process.stdout.write(s));
        for (;;) {
          const lines = await print(out);
          for (const l of lines) {
            const m = /epoch[= ](\d+)/.exec(l.message);
            if (m) epoch = m[1]!;
          }
          record = await a.training.describe(record.name);
          const status = `${record.status}/${record.secondaryStatus}`;
          const progress = record.finalMetrics.find(
            (m) => m.metricName === 'train:progress',
          )?.value;
          if (bar)
            bar.update(Math.min(100, Math.round(progress ?? 0)), {
              status,
              epoch,
              metrics: metricsText(record),
            });
          else if (status !== lastStatus)
            out(`[${status}] ${record.transitions.at(-1)?.message ?? ''}\n`);
          lastStatus = status;
          if (isTerminal(record.secondaryStatus)) {
            await print(out);
            break;
          }
          await new Promise((r) => setTimeout(r, 500));
        }
        multi.stop();
        const final = metricsText(record);
        process.stdout.write(
          `${record.name}: ${record.status}${record.failureReason ? ` - ${record.failureReason}` : ''}${final ? ` (${final})` : ''}\n`,
        );
        if (record.status === 'Failed') process.exitCode = 1;
      });
    });

  const images = program
    .command('images')
    .description('training images Apiary runs as local commands');
  images
    .command('register <image> <command...>')
    .description(
      'register a TrainingImage as a local command: apiary images register my-algo:1 -- python3 /opt/algo/train.py',
    )
    .action(async (image: string, command: string[]) => {
      await withApiary((a) => a.training.registerImage(image, command));
      process.stdout.write(`Registered ${image}: ${JSON.stringify(command)}\n`);
    });
  images
    .command('list')
    .description('list registered images (plus the built-in ones)')
    .action(async () => {
      const list = await withApiary((a) => a.training.images());
      process.stdout.write(
        'object-detection (built-in: */object-detection:*)\npytorch-training (built-in script mode: */pytorch-training:*)\n',
      );
      for (const i of list) process.stdout.write(`${i.image}\t${JSON.stringify(i.command)}\n`);
    });
  images
    .command('remove <image>')
    .description('forget a registered image')
    .action(async (image: string) => {
      const removed = await withApiary((a) => a.training.repo.removeImage(image));
      if (!removed) {
        process.stderr.write(`apiary: image '${image}' is not registered\n`);
        process.exit(1);
      }
      process.stdout.write(`Removed ${image}\n`);
    });
}
