import type { Command } from 'commander';
import type { createApiary } from '../api/server.js';

type WithApiary = <T>(
  fn: (a: Awaited<ReturnType<typeof createApiary>>) => Promise<T>,
) => Promise<T>;

/** `apiary users keys create|list|activate|deactivate|delete`: console users' access keys. */
export function registerAccessKeyCommands(
  users: Command,
  withApiary: WithApiary,
  fail: (err: unknown) => never,
): void {
  const keys = users
    .command('keys')
    .description("manage a user's access keys (at most two; the secret is shown once)");

  keys
    .command('create <username>')
    .description('create an Active access key; prints the id and the secret (shown once)')
    .option('--json', 'print JSON {accessKeyId, secretAccessKey}')
    .action(async (username: string, opts: { json?: boolean }) => {
      const k = await withApiary((a) => a.accessKeys.create(username)).catch(fail);
      process.stdout.write(
        opts.json
          ? JSON.stringify({ accessKeyId: k.accessKeyId, secretAccessKey: k.secretAccessKey }) +
              '\n'
          : `AccessKeyId:     ${k.accessKeyId}\nSecretAccessKey: ${k.secretAccessKey} (shown once)\n`,
      );
    });

  keys
    .command('list <username>')
    .description("list a user's access keys")
    .option('--json', 'print JSON')
    .action(async (username: string, opts: { json?: boolean }) => {
      const list = await withApiary((a) => a.accessKeys.list(username)).catch(fail);
      if (opts.json) return void process.stdout.write(JSON.stringify(list) + '\n');
      const when = (ms?: number) => (ms === undefined ? 'never' : new Date(ms).toISOString());
      for (const k of list) {
        process.stdout.write(
          `${k.accessKeyId}  ${k.status.padEnd(8)}  created ${when(k.createdAtMs)}  last used ${when(k.lastUsedMs)}\n`,
        );
      }
    });

  for (const [name, status] of [
    ['activate', 'Active'],
    ['deactivate', 'Inactive'],
  ] as const) {
    keys
      .command(`${name} <username> <accessKeyId>`)
      .description(`mark a key ${status}`)
      .action(async (username: string, id: string) => {
        await withApiary((a) => a.accessKeys.setStatus(username, id, status)).catch(fail);
        process.stdout.write(`${id} is ${status}\n`);
      });
  }

  keys
    .command('delete <username> <accessKeyId>')
    .description('revoke (delete) a key; every replica refuses it within seconds')
    .action(async (username: string, id: string) => {
      await withApiary((a) => a.accessKeys.remove(username, id)).catch(fail);
      process.stdout.write(`${id} deleted\n`);
    });
}
