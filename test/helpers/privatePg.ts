// A PostgreSQL 15 cluster of the test's own (initdb + pg_ctl on a free port, in a temp dir), for
// fault tests that stop the database: the machine's shared server is never stopped.
import { execFile } from 'node:child_process';
import { chown, mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const BIN = '/usr/lib/postgresql/15/bin';

export interface PrivatePg {
  url: string;
  port: number;
  /** `pg_ctl stop -m immediate`: the server processes are killed, as in a crash. */
  crash(): Promise<void>;
  start(): Promise<void>;
  destroy(): Promise<void>;
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as { port: number };
  await new Promise((r) => server.close(r));
  return port;
}

/** initdb refuses to run as root: as root, the cluster belongs to the `postgres` user. */
async function asOwner(cmd: string, args: string[]) {
  const root = process.getuid?.() === 0;
  return root ? run('runuser', ['-u', 'postgres', '--', cmd, ...args]) : run(cmd, args);
}

export async function startPrivatePg(): Promise<PrivatePg> {
  const dir = await mkdtemp(join(tmpdir(), 'hookyard-pg-'));
  if (process.getuid?.() === 0) {
    const { stdout } = await run('id', ['-u', 'postgres']);
    const { stdout: gid } = await run('id', ['-g', 'postgres']);
    await chown(dir, Number(stdout.trim()), Number(gid.trim()));
  }
  const data = join(dir, 'data');
  await asOwner(`${BIN}/initdb`, ['-D', data, '-A', 'trust', '-U', 'postgres', '-E', 'UTF8', '--no-sync']);
  const port = await freePort();
  // fsync off: a crash here kills server processes, not the OS, so the page cache survives.
  const options = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200`;
  const start = async () => {
    await asOwner(`${BIN}/pg_ctl`, ['start', '-w', '-t', '60', '-D', data, '-l', join(dir, 'log'), '-o', options]);
  };
  await start();
  return {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    port,
    async crash() {
      await asOwner(`${BIN}/pg_ctl`, ['stop', '-m', 'immediate', '-w', '-D', data]);
    },
    start,
    async destroy() {
      await asOwner(`${BIN}/pg_ctl`, ['stop', '-m', 'immediate', '-w', '-D', data]).catch(() => {});
      await rm(dir, { recursive: true, force: true });
    },
  };
}
