// The deployment files run only what CI proves: the Dockerfile's commands must be package.json's
// scripts as the build smoke test (test/postgres/build.test.ts) runs them, and compose.yaml must
// describe two Hookyard instances over one PostgreSQL and one Redis.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';

const read = (file: string) => readFileSync(new URL(`../../${file}`, import.meta.url), 'utf8');
const pkg = JSON.parse(read('package.json')) as { scripts: Record<string, string>; engines: { node: string } };

interface Stage {
  from: string;
  name?: string;
  lines: { instruction: string; args: string }[];
}

/** Dockerfile → stages of instructions (continuations joined, comments dropped). */
function stages(text: string): Stage[] {
  const logical = text.replace(/\\\n/g, ' ').split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));
  const out: Stage[] = [];
  for (const line of logical) {
    const [, instruction = '', args = ''] = /^(\S+)\s+(.*)$/.exec(line) ?? [];
    if (instruction.toUpperCase() === 'FROM') {
      const [, from = '', name] = /^(\S+)(?:\s+AS\s+(\S+))?/i.exec(args) ?? [];
      out.push({ from, name, lines: [] });
    } else out.at(-1)!.lines.push({ instruction: instruction.toUpperCase(), args: args.replace(/\s+/g, ' ') });
  }
  return out;
}

/** An exec-form (JSON array) or shell-form command as words. */
const words = (args: string): string[] => (args.startsWith('[') ? (JSON.parse(args) as string[]) : args.split(' '));

describe('Dockerfile', () => {
  const all = stages(read('Dockerfile'));
  const final = all.at(-1)!;
  const of = (stage: Stage, instruction: string) => stage.lines.filter((l) => l.instruction === instruction);

  it('is multi-stage on the Node major package.json asks for', () => {
    expect(all.length).toBeGreaterThanOrEqual(2);
    const major = /(\d+)/.exec(pkg.engines.node)![1];
    for (const s of all) expect(s.from).toMatch(new RegExp(`^node:${major}[-.]`));
  });

  it('runs only npm ci and npm run build, and build is the script the smoke test runs', () => {
    const runs = all.flatMap((s) => of(s, 'RUN').map((l) => l.args));
    expect(runs.length).toBeGreaterThan(0);
    for (const run of runs) expect(run).toMatch(/^npm (ci( --[a-z=-]+)*|run build)$/);
    expect(runs).toContain('npm run build');
    expect(pkg.scripts.build).toBe('node scripts/build.mjs');
    // The runtime stage installs production dependencies only.
    expect(of(final, 'RUN').map((l) => l.args)).toEqual([expect.stringMatching(/^npm ci .*--omit=dev/)]);
  });

  it('starts with npm run start:prod, which runs the built entry point with plain node', () => {
    const cmd = of(final, 'CMD');
    expect(cmd).toHaveLength(1);
    expect(words(cmd[0]!.args)).toEqual(['npm', 'run', 'start:prod']);
    const [node, entry, ...rest] = pkg.scripts['start:prod']!.split(' ');
    expect([node, rest]).toEqual(['node', ['serve']]);
    // The runtime stage has the entry point: it copies dist/ from the build stage.
    const copies = of(final, 'COPY').map((l) => l.args);
    const dist = entry!.split('/')[0];
    expect(copies).toContainEqual(expect.stringMatching(new RegExp(`^--from=${all[0]!.name} /app/${dist} \\./${dist}$`)));
    expect(of(final, 'ENTRYPOINT')).toEqual([]);
  });

  it('runs as a non-root user with a healthcheck on /ready', () => {
    const users = of(final, 'USER').map((l) => l.args);
    expect(users.length).toBeGreaterThan(0);
    expect(users.at(-1)).not.toMatch(/^(root|0)(:|$)/);
    const health = of(final, 'HEALTHCHECK');
    expect(health).toHaveLength(1);
    expect(health[0]!.args).toMatch(/\/ready/);
    const env = of(final, 'ENV').map((l) => l.args).join(' ');
    expect(env).toMatch(/HOST=0\.0\.0\.0/);
  });
});

describe('compose.yaml', () => {
  const compose = parseYaml(read('compose.yaml'), { merge: true }) as {
    services: Record<string, { build?: string; image?: string; environment?: Record<string, string>; depends_on?: Record<string, unknown> }>;
  };
  const services = Object.entries(compose.services);

  it('runs two Hookyard instances from this Dockerfile over one PostgreSQL and one Redis', () => {
    const hookyards = services.filter(([, s]) => s.build === '.');
    expect(hookyards).toHaveLength(2);
    const postgres = services.filter(([, s]) => /^postgres:/.test(s.image ?? ''));
    const redis = services.filter(([, s]) => /^redis:/.test(s.image ?? ''));
    expect([postgres.length, redis.length]).toEqual([1, 1]);
    for (const [, s] of hookyards) {
      expect(new URL(s.environment!.DATABASE_URL!).hostname).toBe(postgres[0]![0]);
      expect(new URL(s.environment!.REDIS_URL!).hostname).toBe(redis[0]![0]);
      expect(Object.keys(s.depends_on ?? {}).sort()).toEqual([postgres[0]![0], redis[0]![0]].sort());
      // PostgreSQL instances refuse to start without it, and all must share one (signing secrets at rest).
      expect(s.environment!.HOOKYARD_ENCRYPTION_KEY).toMatch(/^\$\{HOOKYARD_ENCRYPTION_KEY:\?/);
    }
  });
});
