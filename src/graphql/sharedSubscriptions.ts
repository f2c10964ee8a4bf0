// Subscriptions of one shape share one execution. Every subscriber of a tenant used to run its own
// source stream and execute every change itself (resolvers, Pothos, error stamping): with 1,000
// sockets of one dashboard query, one status change cost 1,000 executions (p99 push lag 762 ms in
// BENCHMARKS.md). Now subscribers whose (caller, operation name, variables, document) are equal
// join one group: the first one's subscribe runs, each result is executed once and the same result
// object is handed to every member, whose socket only serializes it. An envelop plugin, so HTTP
// (SSE) and graphql-ws subscriptions share alike and keep every other plugin per subscriber
// (limits ran before; errors are still stamped with each subscriber's own request id).
import { print, type DocumentNode, type ExecutionArgs, type ExecutionResult } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import type { Context } from './context.js';

type Result = ExecutionResult;
type Subscribed = AsyncIterable<Result> | Result;

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

  constructor(private readonly onLeave: (m: MemberStream) => void) {}

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
        for (const m of group.members) void m.push(step.value);
        next = iterator.next();
      }
      end(group);
    } catch (err) {
      end(group, err);
    } finally {
      close(key, group);
    }
  }

  /** A new member of `group`, or (the group closed meanwhile: everyone else left) a new group. */
  function join(key: string, group: Group, start: () => Promise<Subscribed> | Subscribed): Promise<Subscribed> | Subscribed {
    if (group.closed) return subscribe(key, start);
    const member = new MemberStream((m) => leave(key, group, m));
    group.members.add(member);
    if (group.listening) count(member);
    return member;
  }

  /**
   * Joins the group of `key`, or starts it with `start` (this subscriber's own subscribe). A start
   * that answers with a single result (an error: a bad argument, say) is given to every subscriber
   * that joined meanwhile, and no group is kept.
   */
  function subscribe(key: string, start: () => Promise<Subscribed> | Subscribed): Promise<Subscribed> {
    const existing = groups.get(key);
    if (existing && !existing.closed) {
      return existing.started!.then((s) => (Symbol.asyncIterator in s ? join(key, existing, start) : s));
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
      const member = join(key, group, start);
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
        return subscribe(key, () => subscribeFn(subscribeArgs) as Promise<Subscribed> | Subscribed);
      });
    },
  };

  return { plugin, subscribe, stats: stats as Readonly<SubscriptionStats> };
}
