// One endpoint's deliveries: filters and searches, live rows, the detail drawer, replay and bulk replay.
import { useEffect, useRef, useState } from 'preact/hooks';
import { explain, gql } from './api.js';
import { refreshEndpointsSoon } from './endpoints.js';
import { resync, watch, type LiveChange, type LiveRow } from './live.js';
import { DashBulkReplay, DashDeliveries, DashDelivery, DashReplay } from './operations.js';
import { Badge, Banner, Modal, Time } from './ui.js';

const PAGE = 25;
type Status = 'PENDING' | 'SENDING' | 'DELIVERED' | 'FAILED';
interface Filter {
  status: string;
  eventType: string;
  eventId: string;
  after: string;
  before: string;
}
interface Page {
  first: number | null;
  after: string | null;
  last: number | null;
  before: string | null;
}
const FIRST: Page = { first: PAGE, after: null, last: null, before: null };
const NO_FILTER: Filter = { status: '', eventType: '', eventId: '', after: '', before: '' };

function filterInput(endpointId: string, f: Filter) {
  return {
    endpointId,
    ...(f.status ? { status: [f.status as Status] } : {}),
    ...(f.eventType ? { eventType: f.eventType } : {}),
    ...(f.eventId ? { eventId: f.eventId } : {}),
    ...(f.after ? { createdAfter: new Date(f.after).toISOString() } : {}),
    ...(f.before ? { createdBefore: new Date(f.before).toISOString() } : {}),
  };
}

export function Deliveries({ endpointId, open, setOpen }: { endpointId: string; open: string | null; setOpen: (id: string | null) => void }) {
  const [filter, setFilter] = useState<Filter>(NO_FILTER);
  const [page, setPage] = useState<Page>(FIRST);
  const [rows, setRows] = useState<LiveRow[] | null>(null);
  const [pageInfo, setPageInfo] = useState({ hasNextPage: false, hasPreviousPage: false, startCursor: null as string | null | undefined, endCursor: null as string | null | undefined });
  const [error, setError] = useState<string | null>(null);
  const [searchError, setSearchError] = useState<string | null>(null);
  const [bulk, setBulk] = useState(false);
  // The drawer re-reads its delivery when a live change touches it.
  const [detailTick, setDetailTick] = useState(0);
  const filterRef = useRef(filter);
  filterRef.current = filter;
  const pageRef = useRef(page);
  pageRef.current = page;
  const openRef = useRef(open);
  openRef.current = open;

  useEffect(() => {
    setFilter(NO_FILTER);
    setPage(FIRST);
    setRows(null);
  }, [endpointId]);

  const reload = async () => {
    try {
      const data = await gql(DashDeliveries, { filter: filterInput(endpointId, filterRef.current), ...pageRef.current });
      setRows(data.deliveries.edges.map((e) => e.node as LiveRow));
      setPageInfo(data.deliveries.pageInfo);
      setError(null);
    } catch (err) {
      setError(explain(err));
    }
  };
  // resync: the socket came back, so what changed while it was down is fetched again.
  useEffect(() => {
    void reload();
    if (resync.value) setDetailTick((t) => t + 1);
  }, [endpointId, filter, page, resync.value]);

  useEffect(
    () =>
      watch(endpointId, (change: LiveChange) => {
        const f = filterRef.current;
        const p = pageRef.current;
        const row: LiveRow = { ...change.delivery, status: change.status };
        setRows((current) => {
          if (!current) return current;
          const i = current.findIndex((r) => r.id === row.id);
          // A push carries no supersededBy: keep what the list query said.
          if (i >= 0) return current.map((r, j) => (j === i ? { ...r, ...row, supersededBy: r.supersededBy } : r));
          const firstPage = !p.after && !p.before;
          const matches = (!f.status || f.status === row.status) && (!f.eventType || f.eventType === row.eventType) && !f.eventId && !f.before;
          return change.previousStatus === null && firstPage && matches ? [row, ...current].slice(0, PAGE) : current;
        });
        refreshEndpointsSoon();
        if (openRef.current === row.id) setDetailTick((t) => t + 1);
      }),
    [endpointId, resync.value],
  );

  const set = (patch: Partial<Filter>) => {
    setFilter({ ...filterRef.current, ...patch });
    setPage(FIRST);
  };
  const findDelivery = async (e: Event) => {
    e.preventDefault();
    const id = String(new FormData(e.currentTarget as HTMLFormElement).get('deliveryId') ?? '').trim();
    if (!id) return;
    try {
      const d = (await gql(DashDelivery, { id })).delivery;
      if (!d) throw new Error(`No delivery ${id} in this tenant.`);
      setSearchError(null);
      setOpen(d.id);
    } catch (err) {
      setSearchError(err instanceof Error && !('code' in err) ? err.message : explain(err));
    }
  };

  return (
    <section class="card" aria-labelledby="deliveries-title">
      <div class="row-between wrap">
        <h2 id="deliveries-title">Deliveries</h2>
        <button type="button" onClick={() => setBulk(true)} data-testid="bulk-replay">
          Bulk replay…
        </button>
      </div>
      <div class="filters" role="search">
        <label>
          Status
          <select value={filter.status} onChange={(e) => set({ status: e.currentTarget.value })} data-testid="filter-status">
            {['', 'PENDING', 'SENDING', 'DELIVERED', 'FAILED'].map((s) => (
              <option value={s}>{s || 'any'}</option>
            ))}
          </select>
        </label>
        <label>
          Event type
          <input value={filter.eventType} placeholder="order.paid" onChange={(e) => set({ eventType: e.currentTarget.value.trim() })} data-testid="filter-event-type" />
        </label>
        <label>
          Event id
          <input value={filter.eventId} placeholder="evt_…" onChange={(e) => set({ eventId: e.currentTarget.value.trim() })} data-testid="filter-event-id" />
        </label>
        <label>
          From
          <input type="datetime-local" value={filter.after} onChange={(e) => set({ after: e.currentTarget.value })} data-testid="filter-after" />
        </label>
        <label>
          To
          <input type="datetime-local" value={filter.before} onChange={(e) => set({ before: e.currentTarget.value })} data-testid="filter-before" />
        </label>
        <form onSubmit={findDelivery} class="inline">
          <label>
            Delivery id
            <input name="deliveryId" placeholder="dlv_…" data-testid="find-delivery" />
          </label>
          <button type="submit">Open</button>
        </form>
      </div>
      <Banner kind="error" text={searchError} testId="search-error" />
      <Banner kind="error" text={error} testId="deliveries-error" />
      {rows === null ? (
        <p class="muted" aria-busy="true">
          Loading deliveries…
        </p>
      ) : rows.length === 0 ? (
        <p class="muted empty" data-testid="no-deliveries">
          {filter === NO_FILTER ? 'No deliveries yet. Send an event or a test event.' : 'No deliveries match these filters.'}
        </p>
      ) : (
        <div class="table-wrap">
          <table>
            <thead>
              <tr>
                <th scope="col">Status</th>
                <th scope="col">Event type</th>
                <th scope="col">Attempts</th>
                <th scope="col">HTTP</th>
                <th scope="col">Created</th>
                <th scope="col">Delivery</th>
              </tr>
            </thead>
            <tbody>
              {rows.map((d) => (
                <tr key={d.id} data-delivery={d.id} class={open === d.id ? 'open' : ''}>
                  <td>
                    <Badge status={d.status} />
                    {d.supersededBy && (
                      <button type="button" class="link mono superseded" onClick={() => setOpen(d.supersededBy!.id)} title="A newer replay of this event to this endpoint is the one that counts">
                        replayed → {d.supersededBy.id}
                      </button>
                    )}
                  </td>
                  <td>
                    {d.eventType}
                    {d.trigger !== 'event' && <span class="muted"> · {d.trigger}</span>}
                  </td>
                  <td class="attempts">{d.attemptCount}</td>
                  <td>{d.lastResponseStatus ?? '—'}</td>
                  <td>
                    <Time iso={d.createdAt} />
                  </td>
                  <td>
                    <button type="button" class="link mono" onClick={() => setOpen(d.id)} aria-label={`Details of ${d.id}`}>
                      {d.id}
                    </button>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <div class="actions">
        <button type="button" disabled={!pageInfo.hasPreviousPage && !page.after} onClick={() => setPage({ first: null, after: null, last: PAGE, before: pageInfo.startCursor ?? null })}>
          ← Newer
        </button>
        <button type="button" data-testid="older" disabled={!pageInfo.hasNextPage && !page.before} onClick={() => setPage({ first: PAGE, after: pageInfo.endCursor ?? null, last: null, before: null })}>
          Older →
        </button>
      </div>
      {open && <Drawer id={open} tick={detailTick} onClose={() => setOpen(null)} onOpen={setOpen} />}
      {bulk && <BulkReplay endpointId={endpointId} filter={filter} onClose={() => setBulk(false)} onDone={reload} />}
    </section>
  );
}

type Detail = NonNullable<Awaited<ReturnType<typeof loadDetail>>>;
const loadDetail = async (id: string) => (await gql(DashDelivery, { id })).delivery;

/** The headers the dispatcher sends (src/dispatcher/send.ts); the signature is not stored, so it is elided. */
function sentHeaders(d: Detail, attemptNumber: number, startedAt: string): [string, string][] {
  return [
    ...Object.entries((d.endpoint.headers ?? {}) as Record<string, string>),
    ['content-type', 'application/json'],
    ['user-agent', 'Hookyard/0.1 (+webhooks)'],
    ['webhook-id', d.event.id],
    ['webhook-timestamp', String(Math.floor(new Date(startedAt).getTime() / 1000))],
    ['webhook-signature', 'v1,… (one per active secret)'],
    ['x-hookyard-delivery-id', d.id],
    ['x-hookyard-event-type', d.eventType],
    ['x-hookyard-attempt', String(attemptNumber)],
  ];
}

function Drawer({ id, tick, onClose, onOpen }: { id: string; tick: number; onClose: () => void; onOpen: (id: string) => void }) {
  const [d, setD] = useState<Detail | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [info, setInfo] = useState<string | null>(null);
  const [confirming, setConfirming] = useState(false);
  const [replaying, setReplaying] = useState(false);
  // Set synchronously: a burst of clicks lands before the disabled state renders.
  const inFlight = useRef(false);
  const panel = useRef<HTMLElement>(null);
  const returnFocus = useRef<Element | null>(null);

  useEffect(() => {
    returnFocus.current = document.activeElement;
    panel.current?.focus();
    const onKey = (e: KeyboardEvent) => {
      if (e.key === 'Escape' && !document.querySelector('dialog[open]')) onClose();
    };
    document.addEventListener('keydown', onKey);
    return () => {
      document.removeEventListener('keydown', onKey);
      if (returnFocus.current instanceof HTMLElement && returnFocus.current.isConnected) returnFocus.current.focus();
    };
  }, []);
  useEffect(() => {
    if (d?.id !== id) {
      setD(null);
      setInfo(null);
    }
    loadDetail(id).then(
      (x) => {
        if (!x) setError(`No delivery ${id}.`);
        else {
          setD(x);
          setError(null);
        }
      },
      (err) => setError(explain(err)),
    );
  }, [id, tick]);

  const replay = async () => {
    if (inFlight.current) return;
    inFlight.current = true;
    setReplaying(true);
    try {
      const r = (await gql(DashReplay, { id })).replayDelivery;
      setInfo(`Replay queued as ${r.id}.`);
      setError(null);
      setD(await loadDetail(id));
    } catch (err) {
      setInfo(null);
      setError(explain(err));
    } finally {
      inFlight.current = false;
      setReplaying(false);
      setConfirming(false);
    }
  };

  return (
    <aside class="drawer" role="dialog" aria-modal="false" aria-labelledby="drawer-title" tabIndex={-1} ref={panel} data-testid="delivery-detail">
      <div class="dialog-head">
        <h2 id="drawer-title">
          Delivery <span class="mono">{id}</span>
        </h2>
        <button type="button" class="icon" aria-label="Close details" onClick={onClose} data-testid="close-drawer">
          ×
        </button>
      </div>
      <Banner kind="info" text={info} />
      <Banner kind="error" text={error} />
      {!d ? (
        !error && (
          <p class="muted" aria-busy="true">
            Loading…
          </p>
        )
      ) : (
        <>
          <p>
            <Badge status={d.status} /> {d.eventType} · {d.attemptCount} {d.attemptCount === 1 ? 'attempt' : 'attempts'} · {d.trigger}
            {d.event.test ? ' · test event' : ''}
          </p>
          <dl class="facts">
            <div>
              <dt>Created</dt>
              <dd>
                <Time iso={d.createdAt} />
              </dd>
            </div>
            {d.deliveredAt && (
              <div>
                <dt>Delivered</dt>
                <dd>
                  <Time iso={d.deliveredAt} />
                </dd>
              </div>
            )}
            {d.status === 'PENDING' && d.nextAttemptAt && (
              <div>
                <dt>Next attempt</dt>
                <dd>
                  <Time iso={d.nextAttemptAt} />
                </dd>
              </div>
            )}
            <div>
              <dt>Event</dt>
              <dd class="mono">{d.event.id}</dd>
            </div>
            {d.lastError && (
              <div>
                <dt>Last error</dt>
                <dd>{d.lastError}</dd>
              </div>
            )}
          </dl>
          <div class="actions">
            {!confirming ? (
              <button type="button" class="primary" disabled={replaying} onClick={() => setConfirming(true)} data-testid="replay">
                Replay…
              </button>
            ) : (
              <>
                <span>Send this event to the endpoint again as a new delivery?</span>
                <button type="button" class="primary" disabled={replaying} onClick={replay} data-testid="confirm-replay">
                  {replaying ? 'Replaying…' : 'Replay'}
                </button>
                <button type="button" disabled={replaying} onClick={() => setConfirming(false)}>
                  Cancel
                </button>
              </>
            )}
          </div>
          {(d.replayOf || d.replays.length > 0) && (
            <>
              <h3>Replay chain</h3>
              <ol class="chain" data-testid="replay-chain">
                {d.replayOf && (
                  <li>
                    Replay of{' '}
                    <button type="button" class="link mono" onClick={() => onOpen(d.replayOf!.id)}>
                      {d.replayOf.id}
                    </button>{' '}
                    <Badge status={d.replayOf.status} />
                  </li>
                )}
                {d.replays.map((r) => (
                  <li key={r.id}>
                    Superseded by{' '}
                    <button type="button" class="link mono" onClick={() => onOpen(r.id)}>
                      {r.id}
                    </button>{' '}
                    <Badge status={r.status} /> <Time iso={r.createdAt} />
                  </li>
                ))}
              </ol>
            </>
          )}
          <h3>Payload</h3>
          <pre data-testid="payload" tabIndex={0}>
            {JSON.stringify(d.event.payload, null, 2)}
          </pre>
          <h3>Attempts</h3>
          {d.attempts.length === 0 && <p class="muted">No attempt yet.</p>}
          {d.attempts.map((a) => (
            <details key={a.id} open={a.attemptNumber === d.attempts.length} data-testid="attempt">
              <summary>
                #{a.attemptNumber} · {a.responseStatus ? `HTTP ${a.responseStatus}` : a.error ? 'error' : '…'} · {a.durationMs === null || a.durationMs === undefined ? '—' : `${a.durationMs} ms`} · <Time iso={a.startedAt} />
              </summary>
              {a.error && <p>Error: {a.error}</p>}
              <h4>Request headers</h4>
              <pre class="headers" data-testid="request-headers" tabIndex={0}>
                {sentHeaders(d, a.attemptNumber, a.startedAt)
                  .map(([k, v]) => `${k}: ${v}`)
                  .join('\n')}
              </pre>
              <h4>Response body</h4>
              {a.responseBody ? (
                <pre data-testid="response-body" tabIndex={0}>
                  {a.responseBody}
                </pre>
              ) : (
                <p class="muted">empty</p>
              )}
            </details>
          ))}
        </>
      )}
    </aside>
  );
}

function BulkReplay({ endpointId, filter, onClose, onDone }: { endpointId: string; filter: Filter; onClose: () => void; onDone: () => void }) {
  const f = filterInput(endpointId, filter);
  const input = { endpointId, status: (f.status?.[0] ?? 'FAILED') as Status, eventType: f.eventType, createdAfter: f.createdAfter, createdBefore: f.createdBefore };
  const [dry, setDry] = useState<{ enqueued: number; capped: boolean; totalMatching: number } | null>(null);
  const [done, setDone] = useState<{ enqueued: number; capped: boolean } | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  useEffect(() => {
    gql(DashBulkReplay, { input: { ...input, dryRun: true } }).then(
      (r) => setDry(r.bulkReplayDeliveries),
      (err) => setError(explain(err)),
    );
  }, []);
  const confirm = async () => {
    if (busy) return;
    setBusy(true);
    try {
      setDone((await gql(DashBulkReplay, { input })).bulkReplayDeliveries);
      setError(null);
      onDone();
    } catch (err) {
      setError(explain(err));
    } finally {
      setBusy(false);
    }
  };
  return (
    <Modal title="Bulk replay" testId="bulk-dialog" onClose={onClose}>
      <Banner kind="error" text={error} />
      {done ? (
        <p data-testid="bulk-result">{`Replayed ${done.enqueued} deliveries.` + (done.capped ? ' More matched than one call replays: run it again for the rest.' : '')}</p>
      ) : dry ? (
        <p data-testid="dry-run-count">
          {`${dry.enqueued} ${input.status} deliveries will be replayed (oldest first)` + (dry.capped ? ` — ${dry.totalMatching} match; one call replays at most ${dry.enqueued}.` : '.')}
        </p>
      ) : (
        !error && (
          <p class="muted" aria-busy="true">
            Counting…
          </p>
        )
      )}
      <div class="actions">
        {!done && (
          <button type="button" class="primary" data-testid="confirm-bulk" disabled={!dry || dry.enqueued === 0 || busy} onClick={confirm}>
            {busy ? 'Replaying…' : 'Replay them'}
          </button>
        )}
        <button type="button" onClick={onClose} data-testid="close-bulk">
          {done ? 'Close' : 'Cancel'}
        </button>
      </div>
    </Modal>
  );
}
