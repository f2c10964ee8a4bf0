// Hookyard dashboard: endpoints and their settings, deliveries (live), a delivery's attempts and
// replay chain, single and bulk replay. Talks to the GraphQL API only; bundled by the server (no CDN).
import { signal } from '@preact/signals';
import { render } from 'preact';
import { useState } from 'preact/hooks';
import { explain, hasSession, session, signIn, signOut as endSession } from './api.js';
import { Overview } from './charts.js';
import { Deliveries } from './deliveries.js';
import { EndpointCard, EndpointList, endpoints, loadEndpoints, selectedId } from './endpoints.js';
import { connect, disconnect, liveError, liveState } from './live.js';
import { Banner } from './ui.js';
import './style.css';

const THEME = 'hookyard.theme';
const signedIn = signal(false);
/** Why the sign-in page is showing again, when the server ended the session. */
const endedNotice = signal<string | null>(null);
/** The operator's choice; null follows prefers-color-scheme. */
const chosen = (localStorage.getItem(THEME) as 'light' | 'dark' | null) ?? null;
const theme = signal<'light' | 'dark'>('light');

function applyTheme() {
  const dark = chosen ? chosen === 'dark' : matchMedia('(prefers-color-scheme: dark)').matches;
  theme.value = dark ? 'dark' : 'light';
  document.documentElement.dataset.theme = theme.value;
}
applyTheme();
matchMedia('(prefers-color-scheme: dark)').addEventListener('change', () => !localStorage.getItem(THEME) && applyTheme());

function toggleTheme() {
  theme.value = theme.value === 'dark' ? 'light' : 'dark';
  document.documentElement.dataset.theme = theme.value;
  localStorage.setItem(THEME, theme.value);
}

function start() {
  signedIn.value = true;
  connect();
  void loadEndpoints();
}

function signedOut() {
  disconnect();
  endpoints.value = null;
  selectedId.value = null;
  signedIn.value = false;
}

function SignIn() {
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  return (
    <main class="signin">
      <form
        onSubmit={async (e) => {
          e.preventDefault();
          setBusy(true);
          try {
            await signIn(String(new FormData(e.currentTarget).get('key') ?? '').trim());
            endedNotice.value = null;
            start();
          } catch (err) {
            setError(explain(err));
          } finally {
            setBusy(false);
          }
        }}
      >
        <h1>Hookyard</h1>
        <p class="muted">Sign in with an API key of your tenant.</p>
        <Banner kind="info" text={error ? null : endedNotice.value} testId="session-ended" />
        <Banner kind="error" text={error} />
        <label>
          API key
          <input name="key" type="password" autoComplete="off" placeholder="hy_…" required data-testid="api-key" />
        </label>
        <button class="primary" type="submit" disabled={busy}>
          Sign in
        </button>
      </form>
    </main>
  );
}

function LiveIndicator() {
  const state = liveState.value;
  const text = state === 'live' ? 'live' : state === 'connecting' ? 'connecting…' : state === 'offline' ? 'offline' : 'reconnecting…';
  return (
    <span class={`live ${state}`} role="status" data-testid="live">
      {text}
    </span>
  );
}

function Dashboard() {
  const [open, setOpen] = useState<string | null>(null);
  const endpoint = endpoints.value?.find((e) => e.id === selectedId.value);
  return (
    <>
      <header class="top">
        <h1>Hookyard</h1>
        <LiveIndicator />
        <button type="button" onClick={toggleTheme} data-testid="theme" aria-label="Switch between light and dark theme">
          {theme.value === 'dark' ? '☀ Light' : '☾ Dark'}
        </button>
        <button type="button" onClick={() => void endSession().then(signedOut)} data-testid="sign-out">
          Sign out
        </button>
      </header>
      <Banner kind="error" text={liveError.value} testId="live-error" />
      <div class="layout">
        <EndpointList />
        <main class="content">
          {endpoint ? (
            <>
              <EndpointCard key={endpoint.id} endpoint={endpoint} />
              <section class="card charts" aria-label="Overview">
                <Overview endpointId={endpoint.id} title="This endpoint" theme={theme.value} />
                <Overview endpointId={null} title="All endpoints" theme={theme.value} />
              </section>
              <Deliveries
                endpointId={endpoint.id}
                open={open}
                setOpen={setOpen}
              />
            </>
          ) : (
            endpoints.value && <p class="muted empty">Select or create an endpoint.</p>
          )}
        </main>
      </div>
    </>
  );
}

function App() {
  if (checking.value) return <p class="muted signin" aria-busy="true">Loading…</p>;
  return signedIn.value ? <Dashboard /> : <SignIn />;
}

// Earlier versions kept the key here; it must not outlive them.
localStorage.removeItem('hookyard.apiKey');
session.onLost = () => {
  if (!signedIn.value) return;
  endedNotice.value = 'Your session ended (signed out elsewhere, expired, or its key was revoked). Sign in again.';
  signedOut();
};
const checking = signal(true);
void hasSession().then((ok) => {
  checking.value = false;
  if (ok) start();
});
render(<App />, document.getElementById('app')!);
