import type { Command } from 'commander';
import { loadSettings } from '../config/index.js';
import { createApiary } from '../api/server.js';
import { bestTrial, leaderboardRows } from '../tuning/index.js';

function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => (r[c] ?? '').length)));
  return rows
    .map((r) =>
      r
        .map((v, c) => (c === r.length - 1 ? v : v.padEnd(widths[c]!)))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

/** `apiary tuning leaderboard <job>`: the trials of a tuning job ranked by objective. */
export function registerTuningCommands(program: Command): void {
  const tuning = program.command('tuning').description('hyperparameter tuning jobs');
  tuning
    .command('leaderboard <job>')
    .description(
      'rank the training jobs of a tuning job by their objective, with their hyperparameters',
    )
    .option('--json', 'print JSON instead of a table')
    .action(async (name: string, opts: { json?: boolean }) => {
      const apiary = await createApiary({ ...loadSettings(), logLevel: 'silent' });
      try {
        const found = await apiary.tuning.trials(name).catch(() => undefined);
        if (!found) {
          process.stderr.write(`apiary: tuning job '${name}' does not exist\n`);
          process.exitCode = 1;
          return;
        }
        const { job, trials } = found;
        const rows = leaderboardRows(job, trials);
        if (opts.json) {
          const [header, ...body] = rows;
          process.stdout.write(
            `${JSON.stringify(
              body.map((r) => Object.fromEntries(header!.map((h, i) => [h, r[i]]))),
              null,
              2,
            )}\n`,
          );
          return;
        }
        const best = bestTrial(job.config, trials);
        process.stdout.write(
          `${job.name}  ${job.status}  ${job.config.strategy}  ${job.config.objective.type} ${job.config.objective.metricName}  ` +
            `${trials.length}/${job.config.maxTrainingJobs} training jobs${job.endReason ? `  (${job.endReason})` : ''}${job.failureReason ? `\n${job.failureReason}` : ''}\n\n`,
        );
        process.stdout.write(`${table(rows)}\n`);
        if (best) {
          process.stdout.write(
            `\nbest: ${best.trainingJobName}; deploy it with CreateModel (ModelDataUrl = its ModelArtifacts.S3ModelArtifacts) → CreateEndpointConfig → CreateEndpoint, or from the console's tuning job page.\n`,
          );
        }
      } finally {
        await apiary.close();
      }
    });
}
