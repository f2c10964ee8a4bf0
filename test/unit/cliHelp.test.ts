// Every command and subcommand of the tree, found by walking it (so a new one is covered without
// listing it here), answers --help with its own usage and exit 0, and runs nothing.
import type { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { buildProgram, type CliDeps, runCli } from '../../src/cli/program.js';

function deps(out: string[]): CliDeps {
  const refuse = () => {
    throw new Error('--help ran a command');
  };
  return {
    io: { out: (l) => out.push(l), err: (l) => out.push(l), progress: () => {} },
    server: { serve: refuse, dev: refuse, migrate: refuse, mintKey: refuse },
    clientConfig: refuse,
  };
}

/** Each command's path from the root, e.g. ['deliveries', 'bulk-replay']. */
function paths(cmd: Command, prefix: string[] = []): string[][] {
  return cmd.commands.filter((c) => c.name() !== 'help').flatMap((c) => [[...prefix, c.name()], ...paths(c, [...prefix, c.name()])]);
}

describe('hookyard help', () => {
  const all = paths(buildProgram(deps([]), () => {}));

  it('finds the whole tree', () => {
    expect(all.map((p) => p.join(' '))).toEqual(expect.arrayContaining(['serve', 'dev', 'listen', 'migrate', 'keys create', 'deliveries bulk-replay', 'events trigger']));
  });

  it.each(all.map((p) => [p.join(' '), p]))('hookyard %s --help: its own usage, exit 0', async (_name, path) => {
    const out: string[] = [];
    expect(await runCli([...path, '--help'], deps(out))).toBe(0);
    expect(out.join('\n')).toMatch(new RegExp(`^Usage: hookyard ${path.join(' ')} `));
    expect(out.join('\n')).toMatch(/\n\s+-h, --help\s+display help for command/);
  });
});
