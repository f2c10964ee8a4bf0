// Hookyard dashboard: endpoints, their deliveries (live), a delivery's attempts and replay chain,
// single and bulk replay. Talks to the GraphQL API only; bundled by the server (no CDN).
import { createClient, type Client } from 'graphql-ws';
import type { TypedDocumentString } from '../src/generated/gql/graphql.js';
import { DashBulkReplay, DashDeliveries, DashDelivery, DashEnable, DashEndpoints, DashLive, DashReplay, DashSetEnabled } from './operations.js';

type Node = HTMLElement;
type Attrs = Record<string, string | boolean | ((e: Event) => void)>;

/** Elements are built from text only: nothing a receiver or a payload returns is parsed as HTML. */
function h(tag: string, attrs: Attrs = {}, ...children: (Node | string | null | undefined | false)[]): HTMLElement {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (typeof v === 'function') el.addEventListener(k.replace(/^on/, ''), v);
    else if (v === true) el.setAttribute(k, '');
    else if (v !== false) el.setAttribute(k, v);
  }
  for (const c of children) if (c) el.append(typeof c === 'string' ? document.createTextNode(c) : c);
  return el;
}

const KEY = 'hookyard.apiKey';
const state = {
  key: localStorage.getItem(KEY) ?? '',
  endpointId: null as string | null,
  filter: { status: '' as string, eventType: '', after: '', before: '' },
  page: { first: 25 as number | null, after: null as string | null, last: null as number | null, before: null as string | null },
  deliveryId: null as string | null,
  rows: [] as Row[],
};
type Row = { id: string; status: string; eventType: string; attemptCount: number; lastResponseStatus?: number | null; lastError?: string | null; createdAt: string; trigger: string; supersededBy?: { id: string } | null };

class ApiError extends Error {
  constructor(message: string, readonly code: string, readonly extensions: Record<string, unknown>) {
    super(message);
  }
}

async function gql<R, V>(doc: TypedDocumentString<R, V>, variables?: V): Promise<R> {
  const res = await fetch('/graphql', {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${state.key}` },
    body: JSON.stringify({ query: doc.toString(), variables }),
  });
  const body = (await res.json()) as { data?: R; errors?: { message: string; extensions?: Record<string, unknown> }[] };
  const err = body.errors?.[0];
  if (err) throw new ApiError(err.message, String(err.extensions?.code ?? 'ERROR'), err.extensions ?? {});
  return body.data as R;
}

/** What an operator should read for each error code. */
function explain(err: unknown): string {
  if (!(err instanceof ApiError)) return `Something went wrong: ${(err as Error).message}`;
  switch (err.code) {
    case 'REPLAY_RATE_LIMITED':
      return `Replay limit reached for this endpoint (${err.extensions.limit ?? 10} per minute). Try again in ${err.extensions.retryAfterSeconds} s.`;
    case 'TEST_FIRE_RATE_LIMITED':
      return `Test-fire limit reached. Try again in ${err.extensions.retryAfterSeconds} s.`;
    case 'ENDPOINT_DISABLED':
      return `This endpoint is disabled, so nothing can be replayed to it. Enable it first. (${err.message})`;
    case 'UNAUTHENTICATED':
      return 'That API key was not accepted.';
    case 'NOT_FOUND':
      return 'Not found (it may belong to another tenant or have been deleted).';
    default:
      return `${err.code}: ${err.message}`;
  }
}

const root = document.getElementById('app')!;
let banner: HTMLElement = h('div');
function showBanner(kind: 'error' | 'info', text: string) {
  banner.replaceWith((banner = h('div', { class: `banner ${kind}`, role: kind === 'error' ? 'alert' : 'status', 'data-testid': 'banner' }, text)));
}
function clearBanner() {
  banner.replaceWith((banner = h('div')));
}

let ws: Client | null = null;
let unsubscribe: (() => void) | null = null;
let liveLabel = h('span', { class: 'live' }, 'offline');

function connectLive() {
  ws?.dispose();
  ws = createClient({
    url: `${location.origin.replace(/^http/, 'ws')}/graphql`,
    connectionParams: { authorization: `Bearer ${state.key}` },
    retryAttempts: Infinity,
    on: {
      connected: () => liveLabel.replaceWith((liveLabel = h('span', { class: 'live on', 'data-testid': 'live' }, 'live'))),
      closed: () => liveLabel.replaceWith((liveLabel = h('span', { class: 'live', 'data-testid': 'live' }, 'reconnecting…'))),
    },
  });
}

function watch(endpointId: string) {
  unsubscribe?.();
  unsubscribe = ws!.subscribe<{ deliveryStatusChanged: { status: string; previousStatus: string | null; delivery: Row } }>(
    { query: DashLive, variables: { endpointId } },
    {
      next: ({ data }) => {
        if (!data) return;
        const change = data.deliveryStatusChanged;
        const row = state.rows.find((r) => r.id === change.delivery.id);
        if (row) {
          Object.assign(row, change.delivery, { status: change.status });
          renderRows();
        } else if (change.previousStatus === null && !state.page.after && !state.page.before && matchesFilter(change)) {
          state.rows.unshift({ ...change.delivery, status: change.status });
          renderRows();
        }
        refreshEndpointsSoon();
        if (state.deliveryId === change.delivery.id) void showDelivery(change.delivery.id);
      },
      error: () => {},
      complete: () => {},
    },
  );
}

// Failure rates in the sidebar follow the live changes, at most once a second.
let endpointsTimer: ReturnType<typeof setTimeout> | null = null;
function refreshEndpointsSoon() {
  endpointsTimer ??= setTimeout(() => {
    endpointsTimer = null;
    void renderEndpoints();
  }, 1000);
}

function matchesFilter(change: { status: string; delivery: Row }) {
  const f = state.filter;
  return (!f.status || f.status === change.status) && (!f.eventType || f.eventType === change.delivery.eventType) && !f.before;
}

function signIn() {
  const input = h('input', { type: 'password', placeholder: 'hy_…', 'aria-label': 'API key', 'data-testid': 'api-key' }) as HTMLInputElement;
  const form = h(
    'form',
    {
      class: 'signin',
      onsubmit: async (e: Event) => {
        e.preventDefault();
        state.key = input.value.trim();
        try {
          await gql(DashEndpoints);
          localStorage.setItem(KEY, state.key);
          void start();
        } catch (err) {
          showBanner('error', explain(err));
        }
      },
    },
    h('h2', {}, 'Hookyard'),
    h('p', { class: 'muted' }, 'Sign in with an API key of your tenant.'),
    banner,
    input,
    h('button', { class: 'primary', type: 'submit' }, 'Sign in'),
  );
  root.replaceChildren(form);
}

const endpointsPane = h('aside');
const mainPane = h('section');

async function start() {
  clearBanner();
  connectLive();
  root.replaceChildren(
    h('header', {}, h('h1', {}, 'Hookyard'), h('span', { class: 'muted' }, 'webhook deliveries'), liveLabel,
      h('button', { onclick: () => { localStorage.removeItem(KEY); state.key = ''; ws?.dispose(); signIn(); } }, 'Sign out')),
    h('main', {}, endpointsPane, mainPane),
  );
  await renderEndpoints();
}

async function renderEndpoints() {
  let data;
  try {
    data = await gql(DashEndpoints);
  } catch (err) {
    showBanner('error', explain(err));
    return;
  }
  const items = data.endpoints.edges.map(({ node: e }) => {
    const toggle = h('input', { type: 'checkbox', 'aria-label': 'enabled', 'data-testid': `toggle-${e.id}`, checked: e.status === 'ACTIVE' }) as HTMLInputElement;
    toggle.addEventListener('click', (ev) => ev.stopPropagation());
    toggle.addEventListener('change', async () => {
      try {
        if (toggle.checked) await gql(DashEnable, { id: e.id });
        else await gql(DashSetEnabled, { id: e.id });
        await renderEndpoints();
      } catch (err) {
        showBanner('error', explain(err));
      }
    });
    const rate = e.deliveryStats.failureRate;
    return h(
      'div',
      { class: `endpoint${state.endpointId === e.id ? ' selected' : ''}`, 'data-endpoint': e.id, onclick: () => selectEndpoint(e.id) },
      h('div', { class: 'url' }, e.url),
      e.description ? h('div', { class: 'muted' }, e.description) : null,
      h('div', { class: 'meta' },
        h('span', { class: `badge ${e.status}` }, e.status),
        h('span', {}, rate === null ? 'no deliveries in 24 h' : `${(rate * 100).toFixed(1)}% failed (24 h)`),
        h('label', { class: 'switch' }, toggle, 'enabled'),
      ),
      e.disabledReason ? h('div', { class: 'muted' }, `Disabled: ${e.disabledReason}`) : null,
    );
  });
  endpointsPane.replaceChildren(h('h3', {}, 'Endpoints'), ...(items.length ? items : [h('p', { class: 'muted' }, 'No endpoints yet. Create one with createEndpoint or `hookyard endpoints create`.')]));
  if (!state.endpointId && data.endpoints.edges[0]) selectEndpoint(data.endpoints.edges[0].node.id);
}

function selectEndpoint(id: string) {
  state.endpointId = id;
  state.deliveryId = null;
  state.page = { first: 25, after: null, last: null, before: null };
  document.querySelectorAll('.endpoint').forEach((el) => el.classList.toggle('selected', el.getAttribute('data-endpoint') === id));
  watch(id);
  renderDeliveriesPane();
  void loadDeliveries();
}

const tbody = h('tbody');
const pager = h('div', { class: 'pager' });
const detail = h('div');

function renderDeliveriesPane() {
  const status = h('select', { 'aria-label': 'status', 'data-testid': 'filter-status' },
    ...['', 'PENDING', 'SENDING', 'DELIVERED', 'FAILED'].map((s) => h('option', { value: s, selected: state.filter.status === s }, s || 'any status'))) as HTMLSelectElement;
  const type = h('input', { placeholder: 'event type', value: state.filter.eventType, 'aria-label': 'event type' }) as HTMLInputElement;
  const after = h('input', { type: 'datetime-local', 'aria-label': 'created after', value: state.filter.after }) as HTMLInputElement;
  const before = h('input', { type: 'datetime-local', 'aria-label': 'created before', value: state.filter.before }) as HTMLInputElement;
  const apply = () => {
    state.filter = { status: status.value, eventType: type.value.trim(), after: after.value, before: before.value };
    state.page = { first: 25, after: null, last: null, before: null };
    void loadDeliveries();
  };
  for (const el of [status, after, before]) el.addEventListener('change', apply);
  type.addEventListener('change', apply);
  mainPane.replaceChildren(
    banner,
    h('div', { class: 'filters' }, status, type, h('span', { class: 'muted' }, 'from'), after, h('span', { class: 'muted' }, 'to'), before,
      h('button', { onclick: openBulkReplay, 'data-testid': 'bulk-replay' }, 'Bulk replay…')),
    h('table', {}, h('thead', {}, h('tr', {}, ...['Status', 'Event type', 'Attempts', 'HTTP', 'Created', 'Delivery', ''].map((t) => h('th', {}, t)))), tbody),
    pager,
    detail,
  );
}

function filterInput() {
  const f = state.filter;
  return {
    endpointId: state.endpointId!,
    ...(f.status ? { status: [f.status as 'PENDING'] } : {}),
    ...(f.eventType ? { eventType: f.eventType } : {}),
    ...(f.after ? { createdAfter: new Date(f.after).toISOString() } : {}),
    ...(f.before ? { createdBefore: new Date(f.before).toISOString() } : {}),
  };
}

async function loadDeliveries() {
  try {
    const data = await gql(DashDeliveries, { filter: filterInput(), ...state.page });
    state.rows = data.deliveries.edges.map((e) => e.node);
    renderRows();
    const info = data.deliveries.pageInfo;
    pager.replaceChildren(
      h('button', { disabled: !info.hasPreviousPage && !state.page.after, onclick: () => { state.page = { first: null, after: null, last: 25, before: info.startCursor ?? null }; void loadDeliveries(); } }, '← Newer'),
      h('button', { disabled: !info.hasNextPage && !state.page.before, 'data-testid': 'older', onclick: () => { state.page = { first: 25, after: info.endCursor ?? null, last: null, before: null }; void loadDeliveries(); } }, 'Older →'),
    );
  } catch (err) {
    showBanner('error', explain(err));
  }
}

function renderRows() {
  tbody.replaceChildren(
    ...state.rows.map((d) =>
      h('tr', { class: 'row', 'data-delivery': d.id, onclick: () => showDelivery(d.id) },
        h('td', {}, h('span', { class: `badge ${d.status}` }, d.status)),
        h('td', {}, d.eventType),
        h('td', { class: 'attempts' }, String(d.attemptCount)),
        h('td', {}, d.lastResponseStatus ? String(d.lastResponseStatus) : '—'),
        h('td', {}, new Date(d.createdAt).toLocaleString()),
        h('td', { class: 'mono' }, d.id),
        h('td', {},
          d.trigger === 'event' ? '' : h('span', { class: 'muted' }, d.trigger),
          // A newer replay exists: that one, not this row, is the delivery that counts.
          d.supersededBy ? h('span', { class: 'muted', 'data-testid': 'superseded' }, ` replayed → ${d.supersededBy.id}`) : ''),
      ),
    ),
  );
  if (state.rows.length === 0) tbody.append(h('tr', {}, h('td', { colspan: '7', class: 'muted' }, 'No deliveries match.')));
}

async function showDelivery(id: string) {
  state.deliveryId = id;
  let d;
  try {
    d = (await gql(DashDelivery, { id })).delivery!;
  } catch (err) {
    showBanner('error', explain(err));
    return;
  }
  const replay = async () => {
    try {
      const r = await gql(DashReplay, { id });
      showBanner('info', `Replay queued as ${r.replayDelivery.id}.`);
      await showDelivery(id);
    } catch (err) {
      showBanner('error', explain(err));
    }
  };
  detail.replaceChildren(
    h('div', { class: 'detail', 'data-testid': 'delivery-detail' },
      h('h3', {}, 'Delivery ', h('span', { class: 'mono' }, d.id), ' ', h('span', { class: `badge ${d.status}` }, d.status)),
      h('p', {}, `${d.eventType} · ${d.attemptCount} attempt(s) · ${d.trigger}${d.event.test ? ' · test event' : ''}`,
        d.nextAttemptAt && d.status === 'PENDING' ? ` · next attempt ${new Date(d.nextAttemptAt).toLocaleString()}` : '',
        d.lastError ? ` · last error: ${d.lastError}` : ''),
      h('button', { class: 'primary', onclick: replay, 'data-testid': 'replay' }, 'Replay'),
      d.replayOf ? h('p', {}, 'Replay of ', h('a', { href: '#', onclick: (e: Event) => { e.preventDefault(); void showDelivery(d.replayOf!.id); } }, d.replayOf.id), ` (${d.replayOf.status})`) : null,
      d.replays.length ? h('p', {}, 'Replays: ', ...d.replays.flatMap((r) => [h('a', { href: '#', onclick: (e: Event) => { e.preventDefault(); void showDelivery(r.id); } }, r.id), ` (${r.status}) `])) : null,
      h('h4', {}, 'Payload'),
      h('pre', { 'data-testid': 'payload' }, JSON.stringify(d.event.payload, null, 2)),
      h('h4', {}, 'Attempts'),
      h('table', {},
        h('thead', {}, h('tr', {}, ...['#', 'Trigger', 'Started', 'Duration', 'HTTP', 'Error', 'Response body'].map((t) => h('th', {}, t)))),
        h('tbody', {}, ...d.attempts.map((a) => h('tr', {},
          h('td', {}, String(a.attemptNumber)), h('td', {}, a.trigger), h('td', {}, new Date(a.startedAt).toLocaleString()),
          h('td', {}, a.durationMs === null ? '—' : `${a.durationMs} ms`), h('td', {}, a.responseStatus ? String(a.responseStatus) : '—'),
          h('td', {}, a.error ?? ''), h('td', {}, a.responseBody ? h('pre', {}, a.responseBody) : ''),
        ))),
      ),
    ),
  );
}

async function openBulkReplay() {
  const f = filterInput();
  const input = { endpointId: f.endpointId, status: (f.status?.[0] ?? 'FAILED') as 'FAILED', eventType: f.eventType, createdAfter: f.createdAfter, createdBefore: f.createdBefore };
  const body = h('div', {}, h('p', {}, 'Counting…'));
  const dialog = h('dialog', { 'data-testid': 'bulk-dialog' }, h('h3', {}, 'Bulk replay'), body) as HTMLDialogElement;
  document.body.append(dialog);
  dialog.showModal();
  const close = () => { dialog.close(); dialog.remove(); };
  try {
    const dry = (await gql(DashBulkReplay, { input: { ...input, dryRun: true } })).bulkReplayDeliveries;
    body.replaceChildren(
      h('p', { 'data-testid': 'dry-run-count' },
        `${dry.enqueued} ${input.status} deliveries will be replayed (oldest first)` + (dry.capped ? ` — ${dry.totalMatching} match; one call replays at most ${dry.enqueued}.` : '.')),
      h('button', { class: 'primary', 'data-testid': 'confirm-bulk', disabled: dry.enqueued === 0, onclick: async () => {
        try {
          const done = (await gql(DashBulkReplay, { input })).bulkReplayDeliveries;
          body.replaceChildren(
            h('p', { 'data-testid': 'bulk-result' }, `Replayed ${done.enqueued} deliveries.` + (done.capped ? ' More matched than one call replays: run it again for the rest.' : '')),
            h('button', { onclick: close }, 'Close'),
          );
          void loadDeliveries();
        } catch (err) {
          body.replaceChildren(h('p', { class: 'banner error', role: 'alert' }, explain(err)), h('button', { onclick: close }, 'Close'));
        }
      } }, 'Replay them'),
      ' ',
      h('button', { onclick: close }, 'Cancel'),
    );
  } catch (err) {
    body.replaceChildren(h('p', { class: 'banner error', role: 'alert' }, explain(err)), h('button', { onclick: close }, 'Close'));
  }
}

if (state.key) void start();
else signIn();
