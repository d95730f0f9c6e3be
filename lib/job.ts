/**
 * A job: a sync or a mirror between locations, run as the CLI runs it — one pass at a time,
 * under a lock, again every `interval` seconds, over just the subtrees someone asked for in
 * between, and (with {@linkcode Job.watch}) whenever a location changes. Library code: it
 * emits events that name the job, and never prints.
 *
 * @module
 */
import type { Backend } from "./backends/backend.ts";
import type { EventSink, SyncEvent } from "./execute/events.ts";
import { normaliseScope } from "./paths.ts";
import type { Kind } from "./pass/kind.ts";
import type { PassOptions } from "./pass/options.ts";
import type { PassResult } from "./pass/result.ts";
import { type ExcludeFn, loadFilter } from "./scan/filter.ts";
import { later, repeat } from "./util/timer.ts";
import { DEFAULT_FULL_PASS, DEFAULT_POLL, startWatching, type Watching } from "./watch.ts";

/** A lock held for one pass (see `lib/cli/lock.ts`). */
export interface PassLock {
  /** Let the lock go once the pass has ended (called once, also after a failed pass). */
  release(): void;
}

/** Options of a {@linkcode Job}: those of a pass, and how passes follow each other. */
export interface JobOptions extends Omit<PassOptions, "signal" | "scope"> {
  /** Seconds between full passes; without it, {@linkcode Job.run} makes one pass. */
  interval?: number;
  /** Taken before each pass; undefined when another run holds it (the pass is skipped). */
  lock?: () => PassLock | undefined;
  /** Runs before each pass (a check that the source is still there, a log line). */
  beforePass?: () => Promise<void> | void;
  /** Hears how each pass went. */
  afterPass?: (outcome: PassOutcome) => void;
  /** Stops the job: the pass under way is interrupted, no other begins. */
  signal?: AbortSignal;
  /**
   * A pass that throws ends the run, unless this says to go on (a watch that meets a safety
   * refusal reports it and waits for the next change instead of dying).
   */
  goOn?: (err: unknown) => boolean;
}

/** Options of {@linkcode Job.watch}. */
export interface WatchJobOptions {
  /** Seconds between looks at a location that cannot be watched (default 30). */
  poll?: number;
  /** Told once, before the first pass, what is watched and what is polled. */
  started?: (watch: WatchStart) => void;
}

/** What a {@linkcode Job.watch} follows. */
export interface WatchStart {
  /** Locations whose changes the job hears of as they happen (local folders). */
  watched: number;
  /** Locations looked at every `poll` seconds (the others). */
  polled: number;
  /** Seconds between those looks. */
  poll: number;
  /** Seconds between full passes (the job's `interval`, by default 600). */
  fullPass: number;
}

/** A watch under way: what passes tell it, and what a refusal starts. */
interface WatchState {
  watchers: Watching[];
  /** Watchable members whose root a pass has yet to create. */
  later: number[];
  start: (members: readonly number[]) => Watching;
  poll: number;
  /** Stops the whole passes asked for every `poll` seconds after a refusal. */
  retry?: () => void;
  signal: AbortSignal;
}

/** How one pass went. */
export type PassOutcome =
  | { kind: "done"; result: PassResult; scope?: readonly string[] }
  | { kind: "locked" };

/**
 * A job (a one-way sync or a mirror) run pass after pass.
 *
 * @example One pass between two in-memory locations
 * ```ts
 * import assert from "node:assert/strict";
 * import { MemoryBackend } from "./backends/memory.ts";
 * import { silentSink } from "./execute/events.ts";
 * import { oneWay } from "./sync.ts";
 * const src = new MemoryBackend({ name: "a" });
 * await src.write("x.txt", ReadableStream.from([new Uint8Array([1])]), { size: 1, mtime: 1e12 });
 * const job = new Job([src, new MemoryBackend({ name: "b" })], oneWay, { sink: silentSink });
 * const last = await job.run();
 * assert.equal(last?.kind === "done" && last.result.summary.copied, 1);
 * ```
 */
export class Job {
  /** The job's key in the state: its kind and members (their ids are final once opened). */
  get key(): string {
    // Made again only when an id changed (at open): every event carries it.
    const ids = this.members.map((m) => m.id).join("\u0000");
    if (this.#keyOf[0] !== ids) this.#keyOf = [ids, this.kind.key(this.members)];
    return this.#keyOf[1];
  }

  #keyOf: [string, string] = ["", ""];
  /** The job's locations, source first (of a mirror: in the order given). */
  readonly members: readonly Backend[];
  /** What a pass is: a one-way sync or a mirror. */
  readonly kind: Kind;
  #options: JobOptions;
  #sink: EventSink;
  /** Subtrees asked for since the last pass began; `null`: the whole tree. */
  #pending: string[] | null | undefined;
  #wake: (() => void) | undefined;
  #running: Promise<PassOutcome> | undefined;
  /** Set while {@linkcode Job.watch} runs. */
  #watch: WatchState | undefined;

  /**
   * A job over `members`; nothing runs until {@linkcode Job.run} or {@linkcode Job.request}.
   *
   * @param members The locations (a sync: source, then destination; a mirror: two or more).
   * @param kind `oneWay` (from `lib/sync.ts`) or `mirror` (from `lib/mirror.ts`).
   * @param options Pass options, interval, lock and hooks.
   */
  constructor(members: readonly Backend[], kind: Kind, options: JobOptions) {
    this.members = [...members];
    this.kind = kind;
    this.#options = options;
    // Every event names its job: a program running several jobs tells them apart.
    this.#sink = { emit: (e: SyncEvent) => options.sink.emit({ ...e, job: this.key }) };
  }

  /**
   * Ask for a pass over these subtrees (all of them when none are given). Requests that arrive
   * while a pass runs are merged and served by the next pass, after the one under way.
   *
   * @param scope Keys of the subtrees that changed.
   */
  request(scope?: readonly string[]): void {
    const s = normaliseScope(scope);
    if (!s || this.#pending === null) this.#pending = null;
    else this.#pending = normaliseScope([...(this.#pending ?? []), ...s]);
    this.#wake?.();
  }

  /**
   * Make one pass now, after the one under way (passes never overlap).
   *
   * @param scope Subtrees to limit the pass to; all of the tree when absent.
   * @returns How the pass went.
   */
  async pass(scope?: readonly string[]): Promise<PassOutcome> {
    while (this.#running) await this.#running.catch(() => {});
    this.#running = this.#passNow(scope);
    try {
      return await this.#running;
    } finally {
      this.#running = undefined;
    }
  }

  async #passNow(scope: readonly string[] | undefined): Promise<PassOutcome> {
    const o = this.#options;
    await o.beforePass?.();
    const lock = o.lock ? o.lock() : { release() {} };
    if (!lock) {
      const outcome: PassOutcome = { kind: "locked" };
      o.afterPass?.(outcome);
      return outcome;
    }
    try {
      const { interval: _i, lock: _l, beforePass: _b, afterPass: _a, goOn: _g, ...pass } = o;
      const result = await this.kind.pass(this.members, {
        ...pass,
        sink: this.#sink,
        ...(scope ? { scope } : {}),
      });
      const outcome: PassOutcome = scope ? { kind: "done", result, scope } : {
        kind: "done",
        result,
      };
      this.#passedWatching(result);
      o.afterPass?.(outcome);
      return outcome;
    } finally {
      lock.release();
    }
  }

  /**
   * Run the job: a full pass, then (with an interval) a full pass every `interval` seconds and
   * a scoped pass whenever {@linkcode Job.request} asks in between, until the signal stops it.
   * A pass that throws (a safety refusal, a missing source) ends the run with that error.
   *
   * @returns The last pass's outcome (undefined when stopped before any).
   */
  run(): Promise<PassOutcome | undefined> {
    return this.#loop(this.#options.interval);
  }

  /**
   * Run the job as {@linkcode Job.run} does, and pass on what changes meanwhile: the locations
   * a pass reads from (a sync's source, every member of a mirror) are watched where they can
   * tell their changes ({@linkcode Backend.watch}: local folders) and looked at every `poll`
   * seconds where they cannot; a change asks for a pass over what changed. A folder the first
   * pass creates is watched from then on; what a pass wrote itself is not taken for a change.
   * A full pass runs every `interval` seconds (default 600): events can be missed. A pass whose
   * error `goOn` accepts (a safety refusal: a location unplugged) is followed by a whole pass
   * every `poll` seconds until one goes through.
   *
   * @param options How often to look at what cannot be watched; who hears what is watched.
   * @returns The last pass's outcome, once the job's signal has stopped it.
   * @throws {TypeError} When the job is watched already.
   * @throws What a pass throws that `goOn` does not accept.
   */
  async watch(options: WatchJobOptions = {}): Promise<PassOutcome | undefined> {
    if (this.#watch) throw new TypeError("This job is being watched already");
    const poll = options.poll ?? DEFAULT_POLL;
    const fullPass = this.#options.interval ?? DEFAULT_FULL_PASS;
    const ended = new AbortController();
    const end = () => ended.abort();
    this.#options.signal?.addEventListener("abort", end, { once: true });
    // A sync follows its source (its own writes go to the destination); a mirror, everyone.
    const follow = this.kind.name === "sync" ? [0] : this.members.map((_, i) => i);
    const watchable = follow.filter((i) => this.members[i]!.watch);
    let exclude: ExcludeFn | undefined;
    const start = (which: readonly number[]) =>
      startWatching(this, {
        members: this.members,
        follow: which,
        poll,
        ...(exclude ? { exclude } : {}),
        sink: this.#sink,
        signal: ended.signal,
      });
    const w: WatchState = { watchers: [], later: [], start, poll, signal: ended.signal };
    this.#watch = w;
    try {
      // Folders that exist are watched before the first pass (a change made while it runs is
      // not missed); a folder the first pass creates, once it exists.
      for (const i of watchable) {
        if (!(await this.members[i]!.rootExists().catch(() => false))) w.later.push(i);
      }
      // A change to what the job leaves out is no change (ferry's own state file above all).
      exclude = await loadFilter(this.#options.exclude ?? []);
      w.watchers.push(start(follow.filter((i) => !w.later.includes(i))));
      const polled = follow.length - watchable.length;
      options.started?.({ watched: watchable.length, polled, poll, fullPass });
      return await this.#loop(fullPass);
    } finally {
      this.#options.signal?.removeEventListener("abort", end);
      ended.abort();
      w.retry?.();
      this.#watch = undefined;
    }
  }

  /** A pass went through while watching: the refusal's retry ends, its writes are told. */
  #passedWatching(result: PassResult): void {
    const w = this.#watch;
    if (!w) return;
    w.retry?.();
    delete w.retry;
    if (w.later.length > 0 && !w.signal.aborted) w.watchers.push(w.start(w.later.splice(0)));
    for (const watcher of w.watchers) watcher.wrote(result.written);
  }

  async #loop(interval: number | undefined): Promise<PassOutcome | undefined> {
    const { signal } = this.#options;
    let last: PassOutcome | undefined;
    let nextFull = 0;
    while (!signal?.aborted) {
      const now = Date.now();
      if (now >= nextFull) {
        this.#pending = undefined; // a full pass serves every request made so far
        last = await this.#tolerant(undefined) ?? last;
        if (!interval) return last;
        nextFull = Date.now() + interval * 1000;
        continue;
      }
      if (this.#pending !== undefined) {
        const scope = this.#pending;
        this.#pending = undefined;
        last = await this.#tolerant(scope ?? undefined) ?? last;
        continue;
      }
      await this.#sleep(nextFull - now);
    }
    return last;
  }

  /** A pass whose error `goOn` accepts gives no outcome instead of ending the run. */
  async #tolerant(scope: readonly string[] | undefined): Promise<PassOutcome | undefined> {
    try {
      const outcome = await this.pass(this.#owed ? undefined : scope);
      this.#owed = false;
      return outcome;
    } catch (err) {
      if (!this.#options.goOn?.(err)) throw err;
      // What the refused pass was to do is owed: the next pass, whatever asks for it, is whole.
      this.#owed = true;
      // Watching, until a pass goes through: a whole pass every `poll` seconds (an unplugged
      // stick that comes back makes no event where ferry watches).
      const w = this.#watch;
      if (w && !w.retry) w.retry = repeat(w.poll * 1000, () => this.request());
      return undefined;
    }
  }

  /** A pass was refused: the next one covers the whole tree. */
  #owed = false;

  /** Wait until `ms` have passed, a request arrives or the job is stopped. */
  #sleep(ms: number): Promise<void> {
    const signal = this.#options.signal;
    return new Promise<void>((resolve) => {
      const cancel = later(ms, done);
      function done() {
        cancel();
        signal?.removeEventListener("abort", done);
        resolve();
      }
      this.#wake = done;
      signal?.addEventListener("abort", done, { once: true });
    }).finally(() => this.#wake = undefined);
  }
}
