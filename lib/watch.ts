/**
 * Watching, Syncthing's watch aggregator: turns the changes a job's members report into scopes
 * for a {@linkcode Job} and nothing else. A member that can tell its changes
 * ({@linkcode Backend.watch}: a local folder) is watched; events are coalesced (200 ms of
 * quiet, at most 1 s), many in one folder collapse to the folder, a flood or a `rescan` asks
 * for a whole pass. Members that cannot be watched (remote ones, or a folder past the inotify
 * limit) are looked at every `poll` seconds. Files a pass wrote itself are recognised by size
 * and time, as the member states them, and not echoed.
 *
 * @module
 */
import type { Backend } from "./backends/backend.ts";
import type { EventSink } from "./execute/events.ts";
import type { Written } from "./pass/result.ts";
import type { ExcludeFn } from "./scan/filter.ts";
import { describeError } from "./errors.ts";
import { later, repeat } from "./util/timer.ts";

/** Quiet time that closes a batch of events, ms. */
const QUIET_MS = 200;
/** The longest a batch waits once its first event came, ms. */
const MAX_WAIT_MS = 1000;
/** More changed paths than this in one folder: the folder is rescanned instead. */
const PER_FOLDER = 200;
/** More changed paths than this in one batch, once crowded folders are folded: a whole pass. */
const PER_BATCH = 2000;
/** How long a file ferry wrote is remembered as its own write, ms. */
const OWN_WRITE_MS = 10_000;

/** Seconds between looks at a location that cannot be watched, unless `--poll` says. */
export const DEFAULT_POLL = 30;

/** A full pass this often while watching, unless `--interval` says (events can be missed). */
export const DEFAULT_FULL_PASS = 600;

/** What the watcher asks of the job. */
export interface WatchTarget {
  /** A pass over these keys (a whole pass without). */
  request(scope?: readonly string[]): void;
}

/** Options of {@linkcode startWatching}. */
export interface WatchOptions {
  /** The job's members, by index (named in notes by their display; asked for `stat`). */
  members: readonly Pick<Backend, "display" | "stat" | "watch">[];
  /** The members whose changes are followed: watched where they can be, else polled. */
  follow: readonly number[];
  /** Seconds between looks at a member that cannot be watched (default `DEFAULT_POLL`). */
  poll?: number;
  /** Keys the job leaves out: a change to one wakes nothing. */
  exclude?: ExcludeFn;
  /** Where notes go. */
  sink: EventSink;
  /** Stops watching and polling. */
  signal: AbortSignal;
}

/** A running watcher. */
export interface Watching {
  /** What a pass changed: events for it (found as the pass left it) are not changes. */
  wrote(changes: readonly Written[]): void;
  /** Batches of changes the members reported so far. */
  readonly received: number;
  /** Batches handed to the job so far (for tests and figures). */
  readonly batches: number;
  /** No change is waiting for its batch to close. */
  readonly settled: boolean;
}

/**
 * Watch the followed members that can be watched and poll the rest, handing scopes to `job`.
 *
 * @param job What hears of changes.
 * @param options Members, polling, sink, signal.
 * @returns The running watcher.
 */
export function startWatching(job: WatchTarget, options: WatchOptions): Watching {
  const { sink, members } = options;
  const poll = options.poll ?? DEFAULT_POLL;
  const name = (at: number) => members[at]?.display ?? String(at);
  const own = new Map<string, OwnChange>();
  const pending = new Set<string>();
  let whole = false;
  let first = 0;
  /** Cancels the pending flush; undefined when none is pending. */
  let timer: (() => void) | undefined;
  /** Batches closed and still being told from ferry's own writes. */
  let sorting = 0;
  let batches = 0;
  let received = 0;
  let stopPolling: (() => void) | undefined;
  const ended = new AbortController();

  const flush = async () => {
    timer = undefined;
    first = 0;
    const keys = [...pending];
    pending.clear();
    if (whole) {
      whole = false;
      batches++;
      job.request();
      return;
    }
    sorting++;
    let mine: boolean[];
    try {
      mine = await Promise.all(keys.map((k) => isOwnWrite(own, members, k)));
    } finally {
      sorting--;
    }
    if (ended.signal.aborted) return;
    const changed = keys.filter((_, i) => !mine[i]);
    if (changed.length < keys.length) {
      debug(`Not passed on, ferry's own changes: ${sample(keys.filter((_, i) => mine[i]), name)}`);
    }
    if (changed.length === 0) return;
    batches++;
    debug(`Changes: ${sample(changed, name)}`);
    const scope = collapse(changed);
    job.request(scope.length > 0 && scope.length <= PER_BATCH ? scope : undefined);
  };
  const debug = (message: string) => sink.emit({ event: "note", level: "debug", message });
  const schedule = () => {
    const now = Date.now();
    if (!first) first = now;
    timer?.();
    timer = later(Math.max(0, Math.min(QUIET_MS, first + MAX_WAIT_MS - now)), flush);
  };
  const take = (at: number, change: readonly string[] | "rescan") => {
    received++;
    if (change === "rescan") {
      whole = true;
      schedule();
      return;
    }
    for (const key of change) {
      if (!options.exclude?.(key.normalize("NFC"), false)) pending.add(`${at}\u0000${key}`);
    }
    if (pending.size > 0) schedule();
  };
  const startPolling = () => {
    if (stopPolling !== undefined || ended.signal.aborted) return;
    stopPolling = repeat(poll * 1000, () => job.request());
  };
  const fallBack = (at: number, why: string) => {
    sink.emit({
      event: "note",
      level: "warn",
      message: `Cannot watch "${name(at)}" (${why}): looking at it every ${poll} s instead`,
    });
    startPolling();
  };

  for (const at of options.follow) {
    if (!members[at]?.watch) startPolling();
    else listen(members[at], ended.signal, (c) => take(at, c), (why) => fallBack(at, why));
  }

  const stop = () => {
    ended.abort();
    timer?.();
    stopPolling?.();
  };
  if (options.signal.aborted) stop();
  else options.signal.addEventListener("abort", stop, { once: true });
  return {
    wrote(changes) {
      const until = Date.now() + OWN_WRITE_MS;
      for (const [k, w] of own) if (w.until < Date.now()) own.delete(k);
      for (const { at, key, ...c } of changes) own.set(`${at}\u0000${key}`, { ...c, until });
    },
    get batches() {
      return batches;
    },
    get received() {
      return received;
    },
    get settled() {
      return timer === undefined && pending.size === 0 && !whole && sorting === 0;
    },
  };
}

/**
 * Hand each batch of changes a member reports to `take`; a watch that cannot be made, or that
 * dies, to `fallBack` (why, in words).
 */
function listen(
  member: Pick<Backend, "watch">,
  signal: AbortSignal,
  take: (change: readonly string[] | "rescan") => void,
  fallBack: (why: string) => void,
): void {
  let changes: AsyncIterable<readonly string[] | "rescan">;
  try {
    changes = member.watch!(signal);
  } catch (err) {
    fallBack(describeError(err));
    return;
  }
  (async () => {
    try {
      for await (const c of changes) take(c);
    } catch (err) {
      if (!signal.aborted) fallBack(describeError(err));
    }
  })();
}

/** A change ferry made itself, remembered until `until`. */
type OwnChange = ({ size: number; mtime: number } | { present: boolean }) & { until: number };

/**
 * Whether the event at a tagged key is the echo of ferry's own write: the member holds what
 * the pass left there (the same size and time, or the path there or gone as it made it).
 */
async function isOwnWrite(
  own: Map<string, OwnChange>,
  members: WatchOptions["members"],
  tagged: string,
): Promise<boolean> {
  const w = own.get(tagged);
  if (!w) return false;
  own.delete(tagged);
  if (w.until < Date.now()) return false;
  const [at, key] = splitTag(tagged);
  const member = members[at];
  if (!member) return false;
  let e: Awaited<ReturnType<Backend["stat"]>>;
  try {
    e = await member.stat(key);
  } catch {
    e = undefined; // cannot be looked at: not there, as far as ferry can tell
  }
  if ("present" in w) return w.present === !!e;
  return e?.kind === "file" && e.size === w.size && e.mtime === w.mtime;
}

/** The changed keys, a folder with more than `PER_FOLDER` of them as the folder (none: all). */
function collapse(tagged: string[]): string[] {
  const keys = [...new Set(tagged.map((t) => splitTag(t)[1]))];
  const byDir = new Map<string, string[]>();
  for (const k of keys) {
    const d = k.includes("/") ? k.slice(0, k.lastIndexOf("/")) : "";
    const list = byDir.get(d);
    if (list) list.push(k);
    else byDir.set(d, [k]);
  }
  const out: string[] = [];
  for (const [d, ks] of byDir) {
    if (ks.length > PER_FOLDER) {
      if (d === "") return []; // the root itself: a whole pass
      out.push(d);
    } else out.push(...ks);
  }
  return out;
}

/** Up to ten tagged keys as `location: key`, and how many more. */
function sample(tagged: string[], name: (at: number) => string): string {
  const shown = tagged.slice(0, 10).map((t) => {
    const [at, key] = splitTag(t);
    return `${name(at)}: ${key}`;
  });
  return shown.join(", ") + (tagged.length > 10 ? ` and ${tagged.length - 10} more` : "");
}

function splitTag(tagged: string): [number, string] {
  const i = tagged.indexOf("\u0000");
  return [Number(tagged.slice(0, i)), tagged.slice(i + 1)];
}
