// Real Hookyard processes (`node --import tsx src/main.ts serve`), for multi-instance and crash tests.
import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { TEST_ENCRYPTION_KEY } from './db.js';

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
