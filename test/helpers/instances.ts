// Real Hookyard processes (`node --import tsx src/main.ts serve`), for multi-instance and crash tests.
import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll } from 'vitest';
import { createTestDatabase, REDIS_URL, TEST_ENCRYPTION_KEY, type TestDatabase } from './db.js';
import { type Receiver, startReceiver } from './receiver.js';
import { eventually, startTestApp, type TestApp } from './testApp.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

export interface Instance {
  proc: ChildProcess;
  url: string;
  logs: string[];
  exited: Promise<number | null>;
  kill(signal?: NodeJS.Signals): Promise<number | null>;
}

/** `args` default to the sources through tsx; the build smoke test passes the built entry point. */
export async function startInstance(env: Record<string, string>, args = ['--import', 'tsx', 'src/main.ts', 'serve']): Promise<Instance> {
  const proc = spawn(process.execPath, args, {
    cwd: ROOT,
    env: {
      PATH: process.env.PATH ?? '',
      PORT: '0',
      HOST: '127.0.0.1',
      LOG_LEVEL: 'info',
      HOOKYARD_ALLOW_PRIVATE_TARGETS: 'true',
      HOOKYARD_ENCRYPTION_KEY: TEST_ENCRYPTION_KEY,
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const logs: string[] = [];
  const exited = new Promise<number | null>((resolve) => proc.on('exit', (code) => resolve(code)));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`instance did not start:\n${logs.join('\n')}`)), 30_000);
    let buffer = '';
    const onData = (chunk: Buffer) => {
      buffer += chunk.toString();
      const lines = buffer.split('\n');
      buffer = lines.pop() ?? '';
      for (const line of lines) {
        logs.push(line);
        if (logs.length > 5000) logs.shift();
        if (line.includes('"hookyard started"')) {
          clearTimeout(timer);
          resolve((JSON.parse(line) as { url: string }).url.replace(/\/graphql$/, ''));
        }
      }
    };
    proc.stdout!.on('data', onData);
    proc.stderr!.on('data', onData);
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`instance exited (${code}) before starting:\n${logs.join('\n')}`));
    });
  });
  return {
    proc,
    url,
    logs,
    exited,
    async kill(signal = 'SIGTERM') {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill(signal);
      return exited;
    },
  };
}

export interface InstancesFixture {
  database: TestDatabase;
  /** This process, serving the API only: the dispatchers are the instances the tests start. */
  api: TestApp;
  rx: Receiver;
  /** What a test started; killed (SIGKILL) after each test. */
  instances: Instance[];
}

/**
 * For a test file of several real instances on one PostgreSQL (with Redis): the database, the API
 * and the receiver are made before the file's tests and closed after them; after each test its
 * instances are killed and the receiver answers 200 again.
 */
export function useInstances(): InstancesFixture {
  const f = { instances: [] as Instance[] } as InstancesFixture;
  beforeAll(async () => {
    f.database = await createTestDatabase('postgres');
    f.api = await startTestApp({ db: f.database, env: { HOOKYARD_ROLE: 'api', REDIS_URL } });
    f.rx = await startReceiver();
  });
  afterEach(async () => {
    await Promise.all(f.instances.splice(0).map((i) => i.kill('SIGKILL')));
    f.rx?.respond(() => ({ status: 200 }));
  });
  afterAll(async () => {
    await f.api?.stop();
    await f.rx?.close();
    await f.database?.drop();
  });
  return f;
}

/**
 * Waits until `total` deliveries of `endpointIds` are DELIVERED, sampling meanwhile who holds their
 * leases (as fast as the database answers; a lease is cleared when its outcome is recorded).
 * Returns the pids of the lease owners (owner = host:pid:random).
 */
export async function deliveredWithLeaseOwners(f: InstancesFixture, endpointIds: string[], total: number, what: string): Promise<Set<number>> {
  const owners = new Set<string>();
  let sampling = true;
  const sampler = (async () => {
    while (sampling) {
      const sending = await f.api.prisma.delivery.findMany({ where: { endpointId: { in: endpointIds }, status: 'SENDING' }, select: { leaseOwner: true } });
      for (const d of sending) if (d.leaseOwner) owners.add(d.leaseOwner);
    }
  })();
  await eventually(async () => (await f.api.prisma.delivery.count({ where: { endpointId: { in: endpointIds }, status: 'DELIVERED' } })) === total, 60_000, what).finally(() => {
    sampling = false;
  });
  await sampler;
  return new Set([...owners].map((o) => Number(o.split(':').at(-2))));
}
