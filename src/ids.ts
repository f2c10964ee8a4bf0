// Opaque, time-sortable, prefixed ids: <prefix>_<10 chars of ms time><16 chars of randomness>,
// Crockford base32, lower case. Monotonic within a process, so ids minted in one millisecond
// still sort in creation order.
import { randomFillSync } from 'node:crypto';

const ALPHABET = '0123456789abcdefghjkmnpqrstvwxyz';

export const ID_PREFIXES = {
  tenant: 'ten',
  apiKey: 'key',
  endpoint: 'ep',
  secret: 'sec',
  event: 'evt',
  delivery: 'dlv',
  attempt: 'att',
} as const;
export type IdKind = keyof typeof ID_PREFIXES;

const ID_BODY = /^[0-9a-hjkmnp-tv-z]{26}$/;

// Randomness drawn 4 KiB at a time: one randomBytes(16) per id was ~1.4 % of the API's busy time
// under sendEvent load (six ids per call; BENCHMARKS.md, issue 12).
const pool = Buffer.alloc(4096);
let poolOffset = pool.length;

function random16(): Buffer {
  if (poolOffset + 16 > pool.length) {
    randomFillSync(pool);
    poolOffset = 0;
  }
  return pool.subarray(poolOffset, (poolOffset += 16));
}

let lastTime = -1;
let lastRandom: number[] = [];

function encodeTime(ms: number): string {
  let out = '';
  for (let i = 0; i < 10; i++) {
    out = ALPHABET[ms % 32] + out;
    ms = Math.floor(ms / 32);
  }
  return out;
}

function nextRandom(now: number): number[] {
  if (now === lastTime) {
    // Increment the previous randomness as a base-32 number.
    const r = [...lastRandom];
    for (let i = r.length - 1; i >= 0; i--) {
      if (r[i]! < 31) {
        r[i]!++;
        return r;
      }
      r[i] = 0;
    }
    return r;
  }
  return Array.from(random16(), (b) => b & 31);
}

export function newId(kind: IdKind): string {
  let now = Date.now();
  if (now < lastTime) now = lastTime; // clock went back: stay monotonic
  lastRandom = nextRandom(now);
  lastTime = now;
  return `${ID_PREFIXES[kind]}_${encodeTime(now)}${lastRandom.map((d) => ALPHABET[d]).join('')}`;
}

/** Whether `id` is well formed for `kind` (prefix and body); says nothing of existence. */
export function isId(kind: IdKind, id: string): boolean {
  const prefix = `${ID_PREFIXES[kind]}_`;
  return id.startsWith(prefix) && ID_BODY.test(id.slice(prefix.length));
}

export function kindOfId(id: string): IdKind | undefined {
  const prefix = id.slice(0, id.indexOf('_'));
  const kind = (Object.keys(ID_PREFIXES) as IdKind[]).find((k) => ID_PREFIXES[k] === prefix);
  return kind && isId(kind, id) ? kind : undefined;
}
