// Subscriptions of one shape share one execution. Every subscriber of a tenant used to run its own
// source stream and execute every change itself (resolvers, Pothos, error stamping): with 1,000
// sockets of one dashboard query, one status change cost 1,000 executions (p99 push lag 762 ms in
// BENCHMARKS.md). Now subscribers whose (caller, operation name, variables, document) are equal
// join one group: the first one's subscribe runs, each result is executed once and the same result
// object is handed to every member, whose socket only serializes it. An envelop plugin, so HTTP
// (SSE) and graphql-ws subscriptions share alike and keep every other plugin per subscriber
// (limits ran before; errors are still stamped with each subscriber's own request id).
//
// A member whose transport gave a FrameSink (graphql-ws, src/http/api.ts) is also spared the
// per-subscriber pipeline for results without errors: the group serializes the result once and
// hands the same JSON bytes to every such member's sink, which copies them into that subscription's
// own frame. With 1,000 sockets the per-socket work (graphql-ws's stringify of the whole message,
// envelop's per-subscriber result mapping, graphql-ws's per-message promises) cost about a third of
// the server's CPU per push (BENCHMARKS.md, "Issue 12, item 3 again"). Skipping the per-subscriber
// hooks is sound because those after this plugin (stampResults, Yoga's error masking) change only
// results with errors; a plugin that rewrote results without errors would have to run in the
// group's source instead.
import { print, type DocumentNode, type ExecutionArgs, type ExecutionResult } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import type { Context } from './context.js';

type Result = ExecutionResult;
type Subscribed = AsyncIterable<Result> | Result;

/**
 * A transport's way to push one subscription's next result as JSON it frames itself (the
 * graphql-ws socket: `{"id":…,"type":"next","payload":<json>}`). Given through the context
 * (`Context.frameSink`); subscribers without one (SSE) get every result through their stream.
 * The JSON comes as UTF-8 bytes, encoded once for the whole group: a socket copies them into its
 * frame instead of encoding the text again (src/http/wsFrames.ts).
 */
export interface FrameSink {
  next(payloadJson: Buffer): void;
}

/**
 * The payload graphql-ws would write for a result without errors (it drops an absent or null
 * `errors` and writes the rest as it is), serialized once for every member of a group.
 */
export function payloadJson(result: Result): string {
  const { errors: _none, ...payload } = result;
  return JSON.stringify(payload);
}

/**
 * One subscriber's stream of its group's results. A member joins its group when it is made (not
 * when first read, as a Repeater would), so a group never closes between a subscriber joining it
 * and its socket starting to read. Unbounded like graphql-yoga's pubsub streams it replaces.
 */
class MemberStream implements AsyncIterableIterator<Result> {
  counted = false;
  private queue: Result[] = [];
  private waiting: { resolve(r: IteratorResult<Result>): void; reject(err: unknown): void } | null = null;
  private ended = false;
  private failure: { err: unknown } | null = null;

  constructor(
    private readonly onLeave: (m: MemberStream) => void,
    readonly sink?: FrameSink,
  ) {}

  /**
   * The reader is waiting for its next value: everything handed to it before has been written
   * (graphql-ws asks for the next value only once the previous frame's write has completed), so a
   * frame written through the sink now cannot overtake one still on its way.
   */
  get idle(): boolean {
    return this.waiting !== null;
  }

  push(value: Result): void {
    if (this.ended) return;
    if (this.waiting) {
      const w = this.waiting;
      this.waiting = null;
      w.resolve({ value, done: false });
    } else this.queue.push(value);
  }

  /** The source ended (or failed): what is queued is still read, then the end (or the error). */
  stop(err?: unknown): void {
    if (this.ended) return;
    this.ended = true;
    if (err !== undefined) this.failure = { err };
    if (this.waiting) {
      const w = this.waiting;
      this.waiting = null;
      if (this.failure) w.reject(this.failure.err);
      else w.resolve({ value: undefined, done: true });
      this.failure = null;
    }
  }

  next(): Promise<IteratorResult<Result>> {
    if (this.queue.length > 0) return Promise.resolve({ value: this.queue.shift()!, done: false });
    if (this.failure) {
      const { err } = this.failure;
      this.failure = null;
      return Promise.reject(err);
    }
    if (this.ended) return Promise.resolve({ value: undefined, done: true });
    return new Promise((resolve, reject) => (this.waiting = { resolve, reject }));
  }

  /** The subscriber left. */
  return(): Promise<IteratorResult<Result>> {
    this.queue = [];
    this.failure = null;
    this.stop();
    this.onLeave(this);
    return Promise.resolve({ value: undefined, done: true });
  }

  throw(err?: unknown): Promise<IteratorResult<Result>> {
    void this.return();
    return Promise.reject(err);
  }

  [Symbol.asyncIterator]() {
    return this;
  }
}

type Member = MemberStream;

interface Group {
  members: Set<Member>;
  /** Resolves when the first subscriber's subscribe has answered. */
  started?: Promise<Subscribed>;
  iterator?: AsyncIterator<Result>;
  listening: boolean;
  closed: boolean;
}

export interface SubscriptionStats {
  /** Subscribers whose group's source is listening. */
  subscribers: number;
  groups: number;
  /** Subscribers that ever started listening (only grows). */
  started: number;
}

export interface SharedSubscriptionsOptions {
  /** Told when a subscriber starts or stops listening, and when a group opens or closes. */
  onChange?(stats: SubscriptionStats): void;
}

const printed = new WeakMap<DocumentNode, string>();
function documentText(document: DocumentNode): string {
  let text = printed.get(document);
  if (text === undefined) printed.set(document, (text = print(document)));
  return text;
}

/**
 * What makes two subscriptions the same: the whole caller (tenant and key: resolvers scope by the
 * tenant, and anything a key may be allowed later must not leak to another key either), the
 * operation name, the variables as sent and the document. Null when the operation is not shared
 * (no caller: those are refused before subscribing anyway).
 */
export function shapeKey(args: Pick<ExecutionArgs, 'contextValue' | 'document' | 'variableValues' | 'operationName'>): string | null {
  const auth = (args.contextValue as Context | undefined)?.auth;
  if (!auth) return null;
  return JSON.stringify([auth.tenantId, auth.apiKeyId, args.operationName ?? null, args.variableValues ?? null, documentText(args.document)]);
}

export function createSharedSubscriptions(options: SharedSubscriptionsOptions = {}) {
  const groups = new Map<string, Group>();
  const stats: SubscriptionStats = { subscribers: 0, groups: 0, started: 0 };
  const changed = () => options.onChange?.(stats);

  function count(member: Member) {
    if (member.counted) return;
    member.counted = true;
    stats.subscribers++;
    stats.started++;
    changed();
  }

  function leave(key: string, group: Group, member: Member) {
    if (!group.members.delete(member)) return;
    if (member.counted) {
      stats.subscribers--;
      changed();
    }
    if (group.members.size > 0) return;
    close(key, group);
  }

  function close(key: string, group: Group) {
    if (group.closed) return;
    group.closed = true;
    if (groups.get(key) === group) groups.delete(key);
    stats.groups--;
    changed();
    void group.iterator?.return?.();
  }

  /** The source ended: every member reads what it has queued, then the end (or the error). */
  function end(group: Group, err?: unknown) {
    for (const m of group.members) {
      if (m.counted) stats.subscribers--;
      m.stop(err);
    }
    group.members.clear();
    changed();
  }

  /**
   * A result to every member. Errors take each member's own pipeline (they are stamped with its
   * request id); otherwise a member with a sink and nothing in flight gets the text serialized once
   * for the whole group, the others (busy, or without a sink) get the object in their stream.
   */
  function deliver(group: Group, result: Result) {
    const shareable = result.errors == null;
    let json: Buffer | undefined;
    for (const m of group.members) {
      if (shareable && m.sink && m.idle) m.sink.next((json ??= Buffer.from(payloadJson(result))));
      else m.push(result);
    }
  }

  async function pump(key: string, group: Group, iterator: AsyncIterator<Result>) {
    group.iterator = iterator;
    if (group.closed) {
      // Everyone left while the source was being set up.
      void iterator.return?.();
      return;
    }
    try {
      let next = iterator.next();
      // graphql-yoga's pubsub adds its listener when its stream is first asked for a value.
      group.listening = true;
      for (const m of group.members) count(m);
      for (;;) {
        const step = await next;
        if (step.done || group.closed) break;
        // Asked for before this one's frames are written, so that the next change's execution (its
        // shared database read) is under way meanwhile, as it was when every subscriber wrote its
        // own frame in later microtasks.
        next = iterator.next();
        deliver(group, step.value);
      }
      end(group);
    } catch (err) {
      end(group, err);
    } finally {
      close(key, group);
    }
  }

  /** A new member of `group`, or (the group closed meanwhile: everyone else left) a new group. */
  function join(key: string, group: Group, start: () => Promise<Subscribed> | Subscribed, sink?: FrameSink): Promise<Subscribed> | Subscribed {
    if (group.closed) return subscribe(key, start, sink);
    const member = new MemberStream((m) => leave(key, group, m), sink);
    group.members.add(member);
    if (group.listening) count(member);
    return member;
  }

  /**
   * Joins the group of `key`, or starts it with `start` (this subscriber's own subscribe). A start
   * that answers with a single result (an error: a bad argument, say) is given to every subscriber
   * that joined meanwhile, and no group is kept. `sink`: this subscriber's transport frames
   * results itself (see FrameSink).
   */
  function subscribe(key: string, start: () => Promise<Subscribed> | Subscribed, sink?: FrameSink): Promise<Subscribed> {
    const existing = groups.get(key);
    if (existing && !existing.closed) {
      return existing.started!.then((s) => (Symbol.asyncIterator in s ? join(key, existing, start, sink) : s));
    }
    const group: Group = { members: new Set(), listening: false, closed: false };
    groups.set(key, group);
    stats.groups++;
    changed();
    group.started = Promise.resolve()
      .then(start)
      .then(
        (s) => {
          if (!(Symbol.asyncIterator in s)) close(key, group);
          return s;
        },
        (err: unknown) => {
          close(key, group);
          throw err;
        },
      );
    return group.started.then((s) => {
      if (!(Symbol.asyncIterator in s)) return s;
      const member = join(key, group, start, sink);
      // The first member is in before the source is asked for anything.
      void pump(key, group, (s as AsyncIterable<Result>)[Symbol.asyncIterator]());
      return member;
    });
  }

  const plugin: Plugin<Context> = {
    onSubscribe({ subscribeFn, setSubscribeFn }) {
      setSubscribeFn((subscribeArgs) => {
        const key = shapeKey(subscribeArgs);
        if (key === null) return subscribeFn(subscribeArgs);
        const sink = (subscribeArgs.contextValue as Context).frameSink;
        return subscribe(key, () => subscribeFn(subscribeArgs) as Promise<Subscribed> | Subscribed, sink);
      });
    },
  };

  return { plugin, subscribe, stats: stats as Readonly<SubscriptionStats> };
}
