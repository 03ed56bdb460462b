import { randomBytes } from 'node:crypto';
import type { Command } from 'commander';
import { loadSettings } from '../config/index.js';
import { createApiary } from '../api/server.js';
import { IdentityError, ROLES, type Role } from '../identity/index.js';
import { registerAccessKeyCommands } from './access-keys.js';

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks)
    .toString('utf8')
    .replace(/\r?\n$/, '');
}

/** Opens the data dir the way the server does (all migrations), runs `fn`, closes. */
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

function fail(err: unknown): never {
  if (err instanceof IdentityError) {
    process.stderr.write(`apiary: ${err.message}\n`);
    process.exit(1);
  }
  throw err;
}

/** `apiary users add|list|set-groups|passwd|disable|enable|delete`: Apiary's console and worker accounts. */
export function registerUsersCommands(program: Command): void {
  const users = program
    .command('users')
    .description('manage console (admin) and worker-portal (worker) accounts');
  registerAccessKeyCommands(users, withApiary, fail);

  users
    .command('add <username>')
    .description(
      'create an account; without --password-stdin a random password is generated and printed once',
    )
    .requiredOption('--role <role>', `one of ${ROLES.join(', ')}`)
    .option('--password-stdin', 'read the password from standard input')
    .option('--group <group...>', 'groups the user belongs to (work teams name groups)')
    .action(
      async (
        username: string,
        opts: { role: string; passwordStdin?: boolean; group?: string[] },
      ) => {
        if (!ROLES.includes(opts.role as Role)) {
          process.stderr.write(`apiary: --role '${opts.role}' is not one of ${ROLES.join(', ')}\n`);
          process.exit(2);
        }
        const generated = !opts.passwordStdin;
        const password = opts.passwordStdin
          ? await readStdin()
          : randomBytes(12).toString('base64url');
        const user = await withApiary((a) =>
          a.identity.createUser({
            username,
            password,
            role: opts.role as Role,
            groups: opts.group ?? [],
          }),
        ).catch(fail);
        process.stdout.write(
          `Created ${user.role} '${user.username}'${user.groups.length ? ` in groups ${user.groups.join(', ')}` : ''}\n` +
            (generated ? `Password (shown once): ${password}\n` : ''),
        );
      },
    );

  users
    .command('list')
    .description('list accounts')
    .option('--json', 'print JSON')
    .action(async (opts: { json?: boolean }) => {
      const list = await withApiary((a) => a.identity.listUsers());
      if (opts.json) {
        process.stdout.write(
          JSON.stringify(
            list.map((u) => ({
              username: u.username,
              role: u.role,
              groups: u.groups,
              disabled: u.disabled,
            })),
          ) + '\n',
        );
        return;
      }
      const rows = [
        ['USERNAME', 'ROLE', 'STATUS', 'GROUPS'],
        ...list.map((u) => [
          u.username,
          u.role,
          u.disabled ? 'disabled' : 'active',
          u.groups.join(','),
        ]),
      ];
      const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
      for (const r of rows)
        process.stdout.write(
          r
            .map((c, i) => c.padEnd(widths[i]!))
            .join('  ')
            .trimEnd() + '\n',
        );
    });

  users
    .command('set-groups <username> [groups...]')
    .description("replace a user's groups")
    .action(async (username: string, groups: string[]) => {
      const u = await withApiary((a) => a.identity.setGroups(username, groups)).catch(fail);
      process.stdout.write(`'${u.username}' is in groups: ${u.groups.join(', ') || '(none)'}\n`);
    });

  users
    .command('passwd <username>')
    .description('set a new password read from standard input; signs the user out everywhere')
    .action(async (username: string) => {
      const password = await readStdin();
      await withApiary((a) => a.identity.setPassword(username, password)).catch(fail);
      process.stdout.write(`Password of '${username}' changed\n`);
    });

  for (const [name, disabled] of [
    ['disable', true],
    ['enable', false],
  ] as const) {
    users
      .command(`${name} <username>`)
      .description(
        disabled ? 'disable an account (signs it out at once)' : 'enable a disabled account',
      )
      .action(async (username: string) => {
        await withApiary((a) => a.identity.setDisabled(username, disabled)).catch(fail);
        process.stdout.write(`'${username}' ${disabled ? 'disabled' : 'enabled'}\n`);
      });
  }

  users
    .command('delete <username>')
    .description('delete an account')
    .action(async (username: string) => {
      await withApiary((a) => a.identity.deleteUser(username)).catch(fail);
      process.stdout.write(`'${username}' deleted\n`);
    });
}
