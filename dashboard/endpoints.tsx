// Endpoints: the list, create and edit, enable/disable, delete, secret rotation, test events.
import { signal } from '@preact/signals';
import { useState } from 'preact/hooks';
import { explain, gql } from './api.js';
import { DashCreateEndpoint, DashDeleteEndpoint, DashDisable, DashEnable, DashEndpoints, DashRotateSecret, DashTestFire, DashUpdateEndpoint } from './operations.js';
import { Badge, Banner, CopyButton, FormActions, Modal, Time } from './ui.js';

export interface EndpointNode {
  id: string;
  url: string;
  description?: string | null;
  status: 'ACTIVE' | 'DISABLED';
  disabledReason?: string | null;
  eventTypes: string[];
  headers: unknown;
  rateLimitPerSecond?: number | null;
  fifo?: boolean;
  createdAt: string;
  deliveryStats: { pending: number; sending: number; delivered: number; failed: number; failureRate?: number | null };
}

export const endpoints = signal<EndpointNode[] | null>(null);
export const endpointsError = signal<string | null>(null);
export const selectedId = signal<string | null>(null);
/** A one-time reveal of a signing secret (after create or rotate). */
const revealed = signal<{ title: string; secret: string } | null>(null);

export async function loadEndpoints(): Promise<void> {
  try {
    const data = await gql(DashEndpoints);
    endpoints.value = data.endpoints.edges.map((e) => e.node as EndpointNode);
    endpointsError.value = null;
    const ids = endpoints.value.map((e) => e.id);
    if (!selectedId.value || !ids.includes(selectedId.value)) selectedId.value = ids[0] ?? null;
  } catch (err) {
    endpointsError.value = explain(err);
  }
}

// Failure rates follow live changes, at most once a second.
let refreshTimer: ReturnType<typeof setTimeout> | null = null;
export function refreshEndpointsSoon(): void {
  refreshTimer ??= setTimeout(() => {
    refreshTimer = null;
    void loadEndpoints();
  }, 1000);
}

const rateText = (rate: number | null | undefined) => (rate === null || rate === undefined ? 'no settled deliveries in 24 h' : `${(rate * 100).toFixed(1)}% failed (24 h)`);

export function EndpointList() {
  const [creating, setCreating] = useState(false);
  const list = endpoints.value;
  return (
    <nav class="endpoints" aria-label="Endpoints">
      <div class="row-between">
        <h2>Endpoints</h2>
        <button type="button" class="primary" data-testid="new-endpoint" onClick={() => setCreating(true)}>
          New endpoint
        </button>
      </div>
      <Banner kind="error" text={endpointsError.value} testId="endpoints-error" />
      {list === null ? (
        <p class="muted" aria-busy="true">
          Loading endpoints…
        </p>
      ) : list.length === 0 ? (
        <p class="muted empty">No endpoints yet. Create one to start receiving webhooks.</p>
      ) : (
        <ul>
          {list.map((e) => (
            <li key={e.id}>
              <button
                type="button"
                class={`endpoint${selectedId.value === e.id ? ' selected' : ''}`}
                aria-current={selectedId.value === e.id ? 'true' : undefined}
                data-endpoint={e.id}
                onClick={() => (selectedId.value = e.id)}
              >
                <span class="url">{e.url}</span>
                {e.description && <span class="muted desc">{e.description}</span>}
                <span class="meta">
                  <Badge status={e.status} />
                  <span>{rateText(e.deliveryStats.failureRate)}</span>
                </span>
              </button>
            </li>
          ))}
        </ul>
      )}
      {creating && <EndpointForm onClose={() => setCreating(false)} />}
      {revealed.value && <SecretReveal {...revealed.value} />}
    </nav>
  );
}

function SecretReveal({ title, secret }: { title: string; secret: string }) {
  return (
    <Modal title={title} testId="secret-dialog" onClose={() => (revealed.value = null)}>
      <p>Copy the signing secret now: it is shown only this once.</p>
      <p>
        <code class="secret" data-testid="secret">
          {secret}
        </code>
      </p>
      <div class="actions">
        <CopyButton text={secret} label="Copy secret" />
        <button type="button" class="primary" onClick={() => (revealed.value = null)}>
          Done
        </button>
      </div>
    </Modal>
  );
}

/** Parses "Name: value" lines into a header object; throws with the line that is wrong. */
function parseHeaders(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [i, line] of text.split('\n').entries()) {
    if (!line.trim()) continue;
    const at = line.indexOf(':');
    if (at < 1) throw new Error(`Header line ${i + 1} needs "Name: value".`);
    out[line.slice(0, at).trim()] = line.slice(at + 1).trim();
  }
  return out;
}
const headersText = (h: unknown) =>
  Object.entries((h ?? {}) as Record<string, string>)
    .map(([k, v]) => `${k}: ${v}`)
    .join('\n');

export function EndpointForm({ endpoint, onClose }: { endpoint?: EndpointNode; onClose: () => void }) {
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const submit = async (e: Event) => {
    e.preventDefault();
    const form = new FormData(e.currentTarget as HTMLFormElement);
    const text = (name: string) => String(form.get(name) ?? '').trim();
    let headers: Record<string, string>;
    try {
      headers = parseHeaders(text('headers'));
    } catch (err) {
      setError((err as Error).message);
      return;
    }
    const rate = text('rate');
    const input = {
      url: text('url'),
      description: text('description') || null,
      eventTypes: text('eventTypes')
        .split(/[\s,]+/)
        .filter(Boolean),
      headers,
      rateLimitPerSecond: rate ? Number(rate) : null,
      fifo: form.get('fifo') === 'on',
    };
    setBusy(true);
    try {
      if (endpoint) {
        await gql(DashUpdateEndpoint, { id: endpoint.id, input });
      } else {
        const created = (await gql(DashCreateEndpoint, { input })).createEndpoint;
        selectedId.value = created.endpoint.id;
        revealed.value = { title: 'Endpoint created', secret: created.secret };
      }
      await loadEndpoints();
      onClose();
    } catch (err) {
      setError(explain(err));
    } finally {
      setBusy(false);
    }
  };
  return (
    <Modal title={endpoint ? 'Edit endpoint' : 'New endpoint'} testId="endpoint-form" onClose={onClose}>
      <form onSubmit={submit} class="form">
        <label>
          URL
          <input name="url" type="url" required placeholder="https://example.com/webhooks" defaultValue={endpoint?.url} data-testid="f-url" />
        </label>
        <label>
          Description
          <input name="description" defaultValue={endpoint?.description ?? ''} data-testid="f-description" />
        </label>
        <label>
          Event types <span class="muted">(comma or space separated; empty or * for all, order.* for a prefix)</span>
          <input name="eventTypes" defaultValue={endpoint?.eventTypes.join(', ') ?? ''} data-testid="f-event-types" />
        </label>
        <label>
          Custom headers <span class="muted">(one "Name: value" per line)</span>
          <textarea name="headers" rows={3} defaultValue={headersText(endpoint?.headers)} data-testid="f-headers" />
        </label>
        <label>
          Rate limit <span class="muted">(deliveries per second; empty for none)</span>
          <input name="rate" type="number" min={1} defaultValue={endpoint?.rateLimitPerSecond ?? ''} data-testid="f-rate" />
        </label>
        <label>
          <input name="fifo" type="checkbox" checked={endpoint?.fifo ?? false} data-testid="f-fifo" /> Ordered delivery (FIFO){' '}
          <span class="muted">(one at a time, in event order; a failing delivery holds the line until it is FAILED)</span>
        </label>
        <FormActions error={error} errorTestId="form-error" busy={busy} submitTestId="f-save" onCancel={onClose}>
          {busy ? 'Saving…' : endpoint ? 'Save' : 'Create endpoint'}
        </FormActions>
      </form>
    </Modal>
  );
}

type Dialog = 'edit' | 'disable' | 'delete' | 'rotate' | 'test' | null;

/** The selected endpoint's card: its settings and every action on it. */
export function EndpointCard({ endpoint: e }: { endpoint: EndpointNode }) {
  const [dialog, setDialog] = useState<Dialog>(null);
  const [error, setError] = useState<string | null>(null);
  const [info, setInfo] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  // A cancelled action's error no longer applies.
  const close = () => {
    setDialog(null);
    setError(null);
  };
  const run = async (fn: () => Promise<unknown>) => {
    setBusy(true);
    setInfo(null);
    try {
      await fn();
      setError(null);
      close();
      await loadEndpoints();
    } catch (err) {
      setError(explain(err));
    } finally {
      setBusy(false);
    }
  };
  const value = (ev: Event, name: string) => String(new FormData(ev.currentTarget as HTMLFormElement).get(name) ?? '').trim();
  const headers = Object.entries((e.headers ?? {}) as Record<string, string>);
  return (
    <section class="card" aria-labelledby="endpoint-title" data-testid="endpoint-card">
      <div class="row-between wrap">
        <div class="grow">
          <h2 id="endpoint-title" class="url">
            {e.url}
          </h2>
          {e.description && <p class="muted">{e.description}</p>}
        </div>
        <Badge status={e.status} />
      </div>
      <dl class="facts">
        <div>
          <dt>Event types</dt>
          <dd data-testid="card-event-types">{e.eventTypes.length ? e.eventTypes.join(', ') : 'all'}</dd>
        </div>
        <div>
          <dt>Rate limit</dt>
          <dd data-testid="card-rate">{e.rateLimitPerSecond ? `${e.rateLimitPerSecond}/s` : 'none'}</dd>
        </div>
        <div>
          <dt>Order</dt>
          <dd data-testid="card-fifo">{e.fifo ? 'FIFO' : 'any'}</dd>
        </div>
        <div>
          <dt>Custom headers</dt>
          <dd data-testid="card-headers">{headers.length ? headers.map(([k, v]) => `${k}: ${v}`).join(', ') : 'none'}</dd>
        </div>
        <div>
          <dt>Created</dt>
          <dd>
            <Time iso={e.createdAt} />
          </dd>
        </div>
        <div>
          <dt>Last 24 h</dt>
          <dd>
            {e.deliveryStats.delivered} delivered · {e.deliveryStats.failed} failed · {e.deliveryStats.pending + e.deliveryStats.sending} waiting
          </dd>
        </div>
        {e.disabledReason && (
          <div>
            <dt>Disabled because</dt>
            <dd data-testid="card-disabled-reason">{e.disabledReason}</dd>
          </div>
        )}
      </dl>
      <div class="actions wrap">
        <button type="button" onClick={() => setDialog('edit')} data-testid="edit-endpoint">
          Edit
        </button>
        {e.status === 'ACTIVE' ? (
          <button type="button" onClick={() => setDialog('disable')} data-testid="disable-endpoint">
            Disable…
          </button>
        ) : (
          <button type="button" disabled={busy} onClick={() => run(() => gql(DashEnable, { id: e.id }))} data-testid="enable-endpoint">
            Enable
          </button>
        )}
        <button type="button" onClick={() => setDialog('test')} data-testid="test-fire">
          Send test event…
        </button>
        <button type="button" onClick={() => setDialog('rotate')} data-testid="rotate-secret">
          Rotate secret…
        </button>
        <button type="button" class="danger" onClick={() => setDialog('delete')} data-testid="delete-endpoint">
          Delete…
        </button>
      </div>
      <Banner kind="error" text={dialog ? null : error} testId="endpoint-error" />
      <Banner kind="info" text={dialog ? null : info} testId="endpoint-info" />
      {dialog === 'edit' && <EndpointForm endpoint={e} onClose={close} />}
      {dialog === 'disable' && (
        <Modal title="Disable endpoint" testId="disable-dialog" onClose={close}>
          <form class="form" onSubmit={(ev) => (ev.preventDefault(), run(() => gql(DashDisable, { id: e.id, reason: value(ev, 'reason') || null })))}>
            <p>Nothing is sent while it is disabled; waiting deliveries stay PENDING until it is enabled again.</p>
            <label>
              Reason
              <input name="reason" data-testid="disable-reason" placeholder="receiver under maintenance" />
            </label>
            <FormActions error={error} busy={busy} submitTestId="confirm-disable" onCancel={close}>
              Disable
            </FormActions>
          </form>
        </Modal>
      )}
      {dialog === 'delete' && (
        <Modal title="Delete endpoint" testId="delete-dialog" onClose={close}>
          <p>
            Delete <strong class="url">{e.url}</strong>? Its deliveries stay for audit; those still waiting end FAILED. This cannot be undone.
          </p>
          <Banner kind="error" text={error} />
          <div class="actions">
            <button
              type="button"
              class="danger"
              disabled={busy}
              data-testid="confirm-delete"
              onClick={() =>
                run(async () => {
                  await gql(DashDeleteEndpoint, { id: e.id });
                  selectedId.value = null;
                })
              }
            >
              Delete endpoint
            </button>
            <button type="button" onClick={close}>
              Cancel
            </button>
          </div>
        </Modal>
      )}
      {dialog === 'rotate' && (
        <Modal title="Rotate signing secret" testId="rotate-dialog" onClose={close}>
          <form
            class="form"
            onSubmit={(ev) => {
              ev.preventDefault();
              const hours = Number(value(ev, 'grace'));
              void run(async () => {
                const r = (await gql(DashRotateSecret, { id: e.id, graceSeconds: Math.round(hours * 3600) })).rotateEndpointSecret;
                revealed.value = { title: 'New signing secret', secret: r.secret };
              });
            }}
          >
            <label>
              Grace period in hours <span class="muted">(the previous secret keeps signing until then; at most 168)</span>
              <input name="grace" type="number" min={0} max={168} step="any" defaultValue={24} required data-testid="grace-hours" />
            </label>
            <FormActions error={error} busy={busy} submitTestId="confirm-rotate" onCancel={close}>
              Rotate
            </FormActions>
          </form>
        </Modal>
      )}
      {dialog === 'test' && (
        <Modal title="Send a test event" testId="test-dialog" onClose={close}>
          <form
            class="form"
            onSubmit={(ev) => {
              ev.preventDefault();
              const eventType = value(ev, 'eventType');
              void run(async () => {
                const d = (await gql(DashTestFire, { id: e.id, eventType })).testFireEndpoint;
                setInfo(`Test event sent as ${d.id}.`);
              });
            }}
          >
            <label>
              Event type
              <input name="eventType" required defaultValue={e.eventTypes.find((t) => !t.includes('*')) ?? 'test.ping'} data-testid="test-event-type" />
            </label>
            <FormActions error={error} busy={busy} submitTestId="confirm-test" onCancel={close}>
              Send
            </FormActions>
          </form>
        </Modal>
      )}
    </section>
  );
}
