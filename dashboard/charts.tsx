// Deliveries per minute by outcome over the last 24 h, and the failure rate, drawn with uPlot
// (bundled). Re-read on live changes (at most every 2 s) and after a reconnect.
import { useEffect, useRef, useState } from 'preact/hooks';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import { explain, gql } from './api.js';
import { resync, watch } from './live.js';
import { DashStats } from './operations.js';
import { Banner } from './ui.js';

const BUCKET_S = 60;
const RANGE_S = 24 * 3600;

interface Series {
  x: number[];
  delivered: number[];
  failed: number[];
  pending: number[];
  rate: (number | null)[];
}
interface Totals {
  delivered: number;
  failed: number;
  pending: number;
}

async function load(endpointId: string | null): Promise<{ series: Series; totals: Totals }> {
  // Aligned on the minute, so buckets stay put between refreshes.
  const start = Math.floor(Date.now() / 1000 / BUCKET_S) * BUCKET_S - RANGE_S + BUCKET_S;
  const rows = (await gql(DashStats, { endpointId, since: new Date(start * 1000).toISOString(), bucketSeconds: BUCKET_S })).deliveryStats;
  const n = RANGE_S / BUCKET_S;
  const s: Series = { x: [], delivered: Array(n).fill(0), failed: Array(n).fill(0), pending: Array(n).fill(0), rate: Array(n).fill(null) };
  for (let i = 0; i < n; i++) s.x.push(start + i * BUCKET_S);
  const totals = { delivered: 0, failed: 0, pending: 0 };
  for (const r of rows) {
    const i = Math.round((new Date(r.start).getTime() / 1000 - start) / BUCKET_S);
    if (i < 0 || i >= n) continue;
    s.delivered[i] = r.delivered;
    s.failed[i] = r.failed;
    s.pending[i] = r.pending;
    s.rate[i] = r.delivered + r.failed ? (100 * r.failed) / (r.delivered + r.failed) : null;
    totals.delivered += r.delivered;
    totals.failed += r.failed;
    totals.pending += r.pending;
  }
  return { series: s, totals };
}

// Ticks in the viewer's locale and zone, 24-hour, the date under the first tick and under midnight
// (uPlot's default is US-style "12am" and "11/23/26"); the zone is named in the caption.
const hourMinute = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit', hourCycle: 'h23' });
const dayMonth = new Intl.DateTimeFormat(undefined, { day: 'numeric', month: 'short' });
const zone = new Intl.DateTimeFormat(undefined, { timeZoneName: 'short' }).formatToParts(new Date()).find((p) => p.type === 'timeZoneName')?.value ?? '';
const timeTicks = (_u: uPlot, splits: number[]) =>
  splits.map((s, i) => {
    const d = new Date(s * 1000);
    return i === 0 || (d.getHours() === 0 && d.getMinutes() === 0) ? `${hourMinute.format(d)}\n${dayMonth.format(d)}` : hourMinute.format(d);
  });

const css = (name: string) => getComputedStyle(document.documentElement).getPropertyValue(name).trim();

export function Overview({ endpointId, title, theme }: { endpointId: string | null; title: string; theme: string }) {
  const box = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);
  const [data, setData] = useState<{ series: Series; totals: Totals } | null>(null);
  const [error, setError] = useState<string | null>(null);

  const refresh = () =>
    load(endpointId).then(
      (d) => {
        setData(d);
        setError(null);
      },
      (err) => setError(explain(err)),
    );
  useEffect(() => {
    setData(null);
    void refresh();
  }, [endpointId, resync.value]);
  useEffect(() => {
    let timer: ReturnType<typeof setTimeout> | null = null;
    const stop = watch(endpointId, () => {
      timer ??= setTimeout(() => {
        timer = null;
        void refresh();
      }, 2000);
    });
    return () => {
      stop();
      if (timer) clearTimeout(timer);
    };
  }, [endpointId, resync.value]);

  // The plot is made once per theme (its colours come from the CSS variables) and fed new data.
  useEffect(() => {
    const el = box.current;
    if (!el || !data) return;
    if (!plot.current) {
      const axis = { stroke: css('--muted'), grid: { stroke: css('--line'), width: 1 }, ticks: { stroke: css('--line') } };
      plot.current = new uPlot(
        {
          width: el.clientWidth || 300,
          height: 160,
          legend: { show: false },
          cursor: { drag: { x: false, y: false } },
          scales: { x: { time: true }, rate: { range: [0, 100] } },
          axes: [{ ...axis, values: timeTicks }, { ...axis, size: 40 }, { ...axis, scale: 'rate', side: 1, size: 44, values: (_u, v) => v.map((x) => `${x}%`) }],
          series: [
            {},
            { label: 'delivered', stroke: css('--ok'), width: 1.5 },
            { label: 'failed', stroke: css('--fail'), width: 1.5 },
            { label: 'waiting', stroke: css('--pend'), width: 1 },
            { label: 'failure rate', stroke: css('--muted'), width: 1, dash: [4, 4], scale: 'rate', spanGaps: false },
          ],
        },
        [[], [], [], [], []],
        el,
      );
    }
    const s = data.series;
    plot.current.setData([s.x, s.delivered, s.failed, s.pending, s.rate]);
  }, [data, theme]);
  useEffect(() => {
    const el = box.current!;
    const ro = new ResizeObserver(() => plot.current?.setSize({ width: el.clientWidth, height: 160 }));
    ro.observe(el);
    return () => {
      ro.disconnect();
      plot.current?.destroy();
      plot.current = null;
    };
  }, [theme]);

  const t = data?.totals;
  const settled = t ? t.delivered + t.failed : 0;
  const summary = t
    ? `${t.delivered} delivered · ${t.failed} failed · ${t.pending} waiting · failure rate ${settled ? ((100 * t.failed) / settled).toFixed(1) + '%' : '—'}`
    : 'Loading…';
  return (
    <figure class="chart" data-testid={endpointId ? 'endpoint-chart' : 'tenant-chart'}>
      <figcaption>
        <strong>{title}</strong> <span class="muted">· per minute, last 24 h{zone ? ` (${zone})` : ''}</span>
        <div data-testid="chart-summary" aria-live="polite">
          {summary}
        </div>
      </figcaption>
      <Banner kind="error" text={error} />
      <div ref={box} class="plot" role="img" aria-label={`${title}: deliveries per minute over the last 24 hours. ${summary}`} />
      <div class="legend" aria-hidden="true">
        <span class="k ok">delivered</span> <span class="k fail">failed</span> <span class="k pend">waiting</span> <span class="k rate">failure rate (right axis)</span>
      </div>
    </figure>
  );
}
