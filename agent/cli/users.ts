import { createInterface } from 'node:readline';
import { Writable } from 'node:stream';
import type { Command } from 'commander';
import { BadInput } from '../engine/bad-input';
import { PASSWORD_MAX } from '../store/users';
import { cliActing } from '../operations/acting';
import { addUser, checkNewUser, listUsers, removeUser, setUserPassword, setUserTenants, userForPassword } from '../operations/users';
import type { UserView } from '../operations/users';
import { withContext } from './action';
import { isoOrEmpty, printJson, printTable } from './print';

/** `--tenant a --tenant b`: every value, in order. */
export function collectTenant(value: string, previous: string[]): string[] {
  return [...previous, value];
}

/** The role-specific refusal the store would give, worded for the command line. */
export function refuseAdminTenants(role: string, tenants: readonly string[]): void {
  if (role === 'admin' && tenants.length > 0) throw new BadInput('--tenant is not for role admin: an admin sees every tenant');
}

/**
 * The password, never from a flag or the environment (both leak into `ps`, shell history
 * and logs): asked twice without echo on a terminal, else the whole of stdin less one
 * trailing newline (`printf '%s\n' "$pw" | callguard users add …`).
 */
export async function readPassword(forWhom: string): Promise<string> {
  if (process.stdin.isTTY) {
    const first = await askHidden(`Password for ${forWhom}: `);
    const again = await askHidden('Again: ');
    if (first !== again) throw new BadInput('the two passwords differ: nothing changed');
    return first;
  }
  // Room for PASSWORD_MAX characters of up to 4 UTF-8 bytes each and a newline; more is refused, not read on.
  const limit = PASSWORD_MAX * 4 + 2;
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of process.stdin as AsyncIterable<Buffer>) {
    chunks.push(chunk);
    size += chunk.length;
    if (size > limit) throw new BadInput(`password too long: at most ${PASSWORD_MAX} characters`);
  }
  return Buffer.concat(chunks).toString('utf8').replace(/\r?\n$/, '');
}

/** One line from the terminal with echo off: readline writes the prompt, then nothing until Enter. */
function askHidden(prompt: string): Promise<string> {
  let muted = false;
  const output = new Writable({
    write(chunk: Buffer | string, encoding: BufferEncoding, callback: () => void) {
      if (!muted) process.stderr.write(chunk, encoding);
      callback();
    },
  });
  const rl = createInterface({ input: process.stdin, output, terminal: true });
  return new Promise((resolve, reject) => {
    rl.on('SIGINT', () => {
      rl.close();
      process.stderr.write('\n');
      reject(new Error('cancelled: nothing changed'));
    });
    rl.question(prompt, (answer) => {
      rl.close();
      process.stderr.write('\n');
      resolve(answer);
    });
    muted = true; // the prompt is out; what the user types is not echoed
  });
}

const tenantsText = (tenants: readonly string[] | null) => (tenants === null ? '(all)' : tenants.join(','));

export function registerUsers(program: Command): void {
  const users = program.command('users').description('people who may sign in to the web console (and use the REST API)');
  users
    .command('add <name>')
    .requiredOption('--role <role>', 'admin, manager or viewer')
    .option('--tenant <name>', 'a tenant a manager or viewer may see (repeat for several)', collectTenant, [])
    .description('add a user; the password is asked on a terminal, else read from stdin')
    .action(
      withContext(async (ctx, name: string, options: { role: string; tenant: string[] }) => {
        refuseAdminTenants(options.role, options.tenant);
        const acting = cliActing(ctx.actor);
        const account = { name, role: options.role, tenants: options.tenant };
        const backend = (await ctx.backends()).users;
        const checked = await checkNewUser(backend, acting, account); // refuse bad input before asking
        const user = await addUser(backend, acting, { ...account, password: await readPassword(checked.name) });
        console.log(`added ${user.role} ${user.name}${user.tenants ? ` (tenants ${user.tenants.join(', ')})` : ''}`);
      }),
    );
  users
    .command('list')
    .option('--json', 'print JSON')
    .description('list users with their role and tenants')
    .action(
      withContext(async (ctx, options: { json?: boolean }) => {
        const rows = await listUsers((await ctx.backends()).users, cliActing(ctx.actor));
        if (options.json) return printJson(rows.map((row: UserView) => ({ name: row.name, role: row.role, tenants: row.tenants, createdAt: row.createdAt })));
        printTable(['USER', 'ROLE', 'TENANTS', 'CREATED'], rows.map((row) => [row.name, row.role, tenantsText(row.tenants), isoOrEmpty(row.createdAt)]));
      }),
    );
  users
    .command('remove <name>')
    .description('remove a user and end their console sessions')
    .action(
      withContext(async (ctx, name: string) => {
        await removeUser((await ctx.backends()).users, cliActing(ctx.actor), name);
        console.log(`removed user ${name.toLowerCase()}`);
      }),
    );
  users
    .command('passwd <name>')
    .description("set a user's password (asked on a terminal, else read from stdin); ends their sessions")
    .action(
      withContext(async (ctx, name: string) => {
        const [backend, acting] = [(await ctx.backends()).users, cliActing(ctx.actor)];
        const user = await userForPassword(backend, acting, name);
        await setUserPassword(backend, acting, user.name, await readPassword(user.name));
        console.log(`changed the password of ${user.name}`);
      }),
    );
  users
    .command('tenants <name>')
    .option('--tenant <name>', 'a tenant the user may see (repeat for several); replaces the list', collectTenant, [])
    .description('replace the tenants a manager or viewer may see')
    .action(
      withContext(async (ctx, name: string, options: { tenant: string[] }) => {
        const user = await setUserTenants((await ctx.backends()).users, cliActing(ctx.actor), name, options.tenant);
        console.log(`${user.name} now sees ${tenantsText(user.tenants)}`);
      }),
    );
}
