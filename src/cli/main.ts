import { Command } from 'commander';
import { loadSettings, loadRootCredentials, SettingsError } from '../config/index.js';
import { createApiary } from '../api/server.js';

const program = new Command();
program.name('apiary').description("Apiary: a self-hosted ML platform that speaks SageMaker's API");

program
  .command('serve')
  .description('run the Apiary server on the embedded defaults (or what APIARY_* settings say)')
  .action(async () => {
    const settings = loadSettings();
    const apiary = await createApiary(settings);
    const url = await apiary.listen();
    const c = apiary.credentials;
    process.stdout.write(`Apiary is listening on ${url} (data in ${settings.dataDir})\n`);
    if (c.generated) {
      process.stdout.write(
        `Generated root credentials (kept in ${c.file}; show them again with 'apiary credentials'):\n` +
          `  aws_access_key_id = ${c.accessKeyId}\n  aws_secret_access_key = ${c.secretAccessKey}\n`,
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
        JSON.stringify({ accessKeyId: c.accessKeyId, secretAccessKey: c.secretAccessKey, endpoint, region: settings.region }) + '\n',
      );
      return;
    }
    process.stdout.write(
      `aws_access_key_id = ${c.accessKeyId}\naws_secret_access_key = ${c.secretAccessKey}\n\n` +
        `# ~/.aws/config\n[profile apiary]\nregion = ${settings.region}\nendpoint_url = ${endpoint}\n` +
        `# ~/.aws/credentials\n[apiary]\naws_access_key_id = ${c.accessKeyId}\naws_secret_access_key = ${c.secretAccessKey}\n`,
    );
  });

program.parseAsync(process.argv).catch((err: unknown) => {
  if (err instanceof SettingsError) {
    process.stderr.write(`apiary: ${err.message}\n`);
    process.exit(2);
  }
  process.stderr.write(`apiary: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
