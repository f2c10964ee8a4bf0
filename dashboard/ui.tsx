// Small shared pieces: relative times, modal dialogs, badges, copy buttons.
import { signal } from '@preact/signals';
import type { ComponentChildren } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';

/** The clock relative times are measured against; one timer for the whole page. */
export const now = signal(Date.now());
setInterval(() => (now.value = Date.now()), 15_000);

const relative = new Intl.RelativeTimeFormat(undefined, { numeric: 'auto', style: 'short' });
const absolute = new Intl.DateTimeFormat(undefined, { year: 'numeric', month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit', second: '2-digit', timeZoneName: 'short' });
const STEPS: [Intl.RelativeTimeFormatUnit, number][] = [
  ['second', 60],
  ['minute', 60],
  ['hour', 24],
  ['day', 30],
  ['month', 12],
  ['year', Infinity],
];

export function relativeTime(iso: string, nowMs: number): string {
  let value = (new Date(iso).getTime() - nowMs) / 1000;
  if (Math.abs(value) < 10) return 'just now';
  for (const [unit, size] of STEPS) {
    if (Math.abs(value) < size) return relative.format(Math.round(value), unit);
    value /= size;
  }
  return relative.format(Math.round(value), 'year');
}

/** "3 min ago", with the absolute time and zone on hover and for assistive technology. */
export function Time({ iso }: { iso: string | null | undefined }) {
  if (!iso) return <span class="muted">—</span>;
  const full = absolute.format(new Date(iso));
  return (
    <time dateTime={iso} title={full} aria-label={full}>
      {/* now.value re-renders on each tick; Date.now() keeps rows newer than the last tick out of the future. */}
      {relativeTime(iso, Math.max(now.value, Date.now()))}
    </time>
  );
}

export const Badge = ({ status }: { status: string }) => <span class={`badge ${status}`}>{status}</span>;

/** A native modal <dialog>: focus is trapped, Escape closes it. */
export function Modal(props: { title: string; onClose: () => void; children: ComponentChildren; testId?: string; wide?: boolean }) {
  const ref = useRef<HTMLDialogElement>(null);
  useEffect(() => {
    const el = ref.current!;
    if (!el.open) el.showModal();
    return () => el.open && el.close();
  }, []);
  return (
    <dialog ref={ref} class={props.wide ? 'wide' : ''} aria-label={props.title} data-testid={props.testId} onClose={props.onClose}>
      <div class="dialog-head">
        <h2>{props.title}</h2>
        <button type="button" class="icon" aria-label="Close dialog" onClick={() => ref.current?.close()}>
          ×
        </button>
      </div>
      {props.children}
    </dialog>
  );
}

export function CopyButton({ text, label = 'Copy' }: { text: string; label?: string }) {
  const [done, setDone] = useState<'idle' | 'copied' | 'failed'>('idle');
  return (
    <button
      type="button"
      data-testid="copy"
      onClick={() =>
        navigator.clipboard.writeText(text).then(
          () => setDone('copied'),
          () => setDone('failed'),
        )
      }
    >
      {done === 'copied' ? 'Copied' : done === 'failed' ? 'Copy failed: select the text' : label}
    </button>
  );
}

export function Banner({ kind, text, testId = 'banner' }: { kind: 'error' | 'info'; text: string | null; testId?: string }) {
  if (!text) return null;
  return (
    <div class={`banner ${kind}`} role={kind === 'error' ? 'alert' : 'status'} data-testid={testId}>
      {text}
    </div>
  );
}

/** The end of a dialog's form: its error, the submit button and Cancel. */
export function FormActions(props: { error: string | null; errorTestId?: string; busy: boolean; submitTestId: string; onCancel: () => void; children: ComponentChildren }) {
  return (
    <>
      <Banner kind="error" text={props.error} testId={props.errorTestId} />
      <div class="actions">
        <button type="submit" class="primary" disabled={props.busy} data-testid={props.submitTestId}>
          {props.children}
        </button>
        <button type="button" onClick={props.onCancel}>
          Cancel
        </button>
      </div>
    </>
  );
}
