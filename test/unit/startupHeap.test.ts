// holdYoungGeneration: while held, objects that survive scavenges do not grow V8's young generation;
// once released, the same churn grows it as V8 does by default. Run in a fresh node process: this
// worker's young generation has long been grown by everything loaded before the test.
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL('../..', import.meta.url));

const SCRIPT = `
import { getHeapSpaceStatistics } from 'node:v8';
import { holdYoungGeneration } from './src/startupHeap.ts';
const newSpace = () => getHeapSpaceStatistics().find((s) => s.space_name === 'new_space').space_size;
// Objects kept across scavenges (as start-up's are): what makes V8 grow the semi-spaces.
const churn = () => { let kept = []; for (let i = 0; i < 2e6; i++) { kept.push({ i, s: 'x' + i }); if (kept.length > 50000) kept = []; } };
const args = JSON.parse(process.argv.at(-1));
const hold = holdYoungGeneration(args.execArgv, args.nodeOptions);
const before = newSpace();
churn();
const held = newSpace();
hold.release();
churn();
console.log(JSON.stringify({ before, held, released: newSpace() }));
`;

async function sizes(args: { execArgv: string[]; nodeOptions: string }, nodeFlags: string[] = []) {
  const { stdout } = await run(process.execPath, [...nodeFlags, '--import', 'tsx', '--input-type=module', '-e', SCRIPT, JSON.stringify(args)], { cwd: ROOT });
  return JSON.parse(stdout.trim().split('\n').at(-1)!) as { before: number; held: number; released: number };
}

describe('holdYoungGeneration', () => {
  it('keeps the young generation at its size while held and lets it grow once released', async () => {
    const { before, held, released } = await sizes({ execArgv: [], nodeOptions: '' });
    expect(held).toBe(before);
    expect(released).toBeGreaterThan(held);
  }, 60_000);

  it("leaves an operator's own semi-space flag alone", async () => {
    const { before, held } = await sizes({ execArgv: ['--max-semi-space-size=64'], nodeOptions: '' });
    expect(held).toBeGreaterThan(before);
  }, 60_000);
});
