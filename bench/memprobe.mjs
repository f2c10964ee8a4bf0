// Preloaded (`node --import ./bench/memprobe.mjs …`) into a process under measurement by
// bench/memory.ts. Costs nothing until SIGUSR2; then prints one JSON line to stderr: RSS and
// process.memoryUsage(), V8 heap spaces and code, and the scripts V8 has loaded grouped by npm
// package (source bytes), read through the inspector only after the figures above were taken.
// MEMPROBE_SAMPLE_MS=100 also samples process.memoryUsage() and the heap spaces on a timer and
// keeps the sample taken at the highest RSS (`atPeak` in the line): where memory was at the peak,
// not after it. MEMPROBE_SNAPSHOT_MB=N with MEMPROBE_SNAPSHOT_DIR writes one heap snapshot the
// first time RSS passes N MiB (diagnosis only: writing it blocks the process and costs memory).
import inspector from 'node:inspector';
import { readFileSync } from 'node:fs';
import v8 from 'node:v8';

const MB = (n) => Math.round((n / 1048576) * 10) / 10;
const rssNow = () => Number(/VmRSS:\s+(\d+)/.exec(readFileSync('/proc/self/status', 'utf8'))?.[1] ?? 0) * 1024;

function packageOf(url) {
  const i = url.lastIndexOf('node_modules/');
  if (i < 0) return url.startsWith('node:') || !url.includes('/') ? '(node internals)' : '(hookyard)';
  const rest = url.slice(i + 'node_modules/'.length).split('/');
  return rest[0].startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0];
}

const spaces = () => Object.fromEntries(v8.getHeapSpaceStatistics().map((s) => [s.space_name, { sizeMb: MB(s.space_size), usedMb: MB(s.space_used_size) }]));
let atPeak = null;
const sampleMs = Number(process.env.MEMPROBE_SAMPLE_MS ?? 0);
const snapshotAt = Number(process.env.MEMPROBE_SNAPSHOT_MB ?? 0) * 1048576;
let snapshotTaken = false;
if (sampleMs > 0) {
  setInterval(() => {
    const mem = process.memoryUsage();
    if (!atPeak || mem.rss > atPeak.rss) {
      atPeak = { rss: mem.rss, rssMb: MB(mem.rss), heapTotalMb: MB(mem.heapTotal), heapUsedMb: MB(mem.heapUsed), externalMb: MB(mem.external), arrayBuffersMb: MB(mem.arrayBuffers), spaces: spaces(), atS: Math.round(process.uptime() * 10) / 10 };
    }
    if (snapshotAt > 0 && !snapshotTaken && mem.rss >= snapshotAt && process.env.MEMPROBE_SNAPSHOT_DIR) {
      snapshotTaken = true;
      process.stderr.write(`MEMPROBE snapshot ${v8.writeHeapSnapshot(`${process.env.MEMPROBE_SNAPSHOT_DIR}/peak-${process.pid}.heapsnapshot`)}\n`);
    }
  }, sampleMs).unref();
}

process.on('SIGUSR2', () => {
  if (process.env.MEMPROBE_GC === '1' && globalThis.gc) globalThis.gc();
  const mem = process.memoryUsage();
  const figures = {
    rssMb: MB(rssNow()),
    heapTotalMb: MB(mem.heapTotal),
    heapUsedMb: MB(mem.heapUsed),
    externalMb: MB(mem.external),
    arrayBuffersMb: MB(mem.arrayBuffers),
    spaces: spaces(),
    code: Object.fromEntries(Object.entries(v8.getHeapCodeStatistics()).map(([k, v]) => [k, MB(v)])),
  };
  const session = new inspector.Session();
  session.connect();
  const byPackage = new Map();
  session.on('Debugger.scriptParsed', ({ params }) => {
    const pkg = packageOf(params.url);
    const entry = byPackage.get(pkg) ?? { scripts: 0, sourceKb: 0 };
    entry.scripts += 1;
    entry.sourceKb += Math.round((params.length ?? 0) / 1024);
    byPackage.set(pkg, entry);
  });
  session.post('Debugger.enable', () => {
    session.post('Debugger.disable', () => {
      session.disconnect();
      const packages = Object.fromEntries([...byPackage].sort((a, b) => b[1].sourceKb - a[1].sourceKb));
      process.stderr.write(`MEMPROBE ${JSON.stringify({ ...figures, atPeak, packages })}\n`);
    });
  });
});
