// V8's young generation during start-up. V8 grows the semi-spaces (up to 16 MiB each, 32 MiB of
// RSS on 64-bit) when many objects survive its scavenges, and start-up's do: the schema, Prisma's
// data model and the modules' code live on. Growing for them buys nothing (they move to the old
// generation anyway), and an instance that then sits idle keeps the 32 MiB until V8's memory
// reducer happens to shrink them (20–100 s later, measured). So start-up runs with growth off and
// V8's default factor comes back once the server is up: under load the young generation grows as
// it always did. Measured in BENCHMARKS.md (issue 11, item 2).
import { setFlagsFromString } from 'node:v8';

/** V8's default --semi-space-growth-factor (the same in every V8 of Node 20–24). */
export const DEFAULT_GROWTH_FACTOR = 2;

/**
 * Keeps the young generation at its initial size until `release()`. Does nothing when the operator
 * set a semi-space flag of their own (command line or NODE_OPTIONS): theirs wins.
 */
export function holdYoungGeneration(execArgv: readonly string[] = process.execArgv, nodeOptions = process.env.NODE_OPTIONS ?? ''): { release(): void } {
  if (/semi[-_]space/.test([...execArgv, nodeOptions].join(' '))) return { release() {} };
  // V8 reads this factor each time it grows the new space, so changing it at run time is safe
  // (node:v8's caveat is about flags read once at start).
  setFlagsFromString('--semi-space-growth-factor=1');
  let held = true;
  return {
    release() {
      if (held) setFlagsFromString(`--semi-space-growth-factor=${DEFAULT_GROWTH_FACTOR}`);
      held = false;
    },
  };
}
