/**
 * `--watch`: turns changes into scopes for a {@linkcode Job} and nothing else. Local folders are
 * watched through `Deno.watchFs`; events are coalesced (200 ms of quiet, at most 1 s), many in
 * one folder collapse to the folder, a flood or a `rescan` flag asks for a whole pass. Locations
 * that cannot be watched (remote ones, or a folder past the inotify limit) are looked at every
 * `poll` seconds. Files a pass wrote itself are recognised by size and time and not echoed.
 *
 * @module
 */
import * as nodePath from "node:path";
import type { EventSink } from "./execute/events.ts";
import { isOwnKey, isTempName } from "./paths.ts";
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

/** A change ferry made itself: a file of this size and time, or a path made or removed. */
export type OwnChange = { size: number; mtime: number } | { present: boolean };

/** What the watcher asks of the job. */
export interface WatchTarget {
  /** A pass over these keys (a whole pass without). */
  request(scope?: readonly string[]): void;
}

/** Options of {@linkcode startWatching}. */
export interface WatchOptions {
  /** The local roots to watch (absolute paths), by member index. */
  roots: { at: number; path: string; display: string }[];
  /** Seconds between looks at locations that cannot be watched; none: no polling. */
  poll?: number;
  /** Seconds between looks at a folder that cannot be watched after all (default `poll`). */
  fallbackPoll?: number;
  /** Keys the job leaves out: a change to one wakes nothing. */
  exclude?: ExcludeFn;
  sink: EventSink;
  signal: AbortSignal;
  /** Makes a watcher (tests stand in for `Deno.watchFs`). */
  watchFs?: (path: string) => AsyncIterable<Deno.FsEvent> & { close(): void };
}

/** A running watcher. */
export interface Watching {
  /** What a pass changed: events for it (found as the pass left it) are not changes. */
  wrote(changes: readonly ({ at: number; key: string } & OwnChange)[]): void;
  /** Stops watching and polling. */
  stop(): void;
  /** Batches handed to the job so far (for tests and figures). */
  readonly batches: number;
  /** Events the watchers delivered so far. */
  readonly received: number;
  /** No change is waiting for its batch to close. */
  readonly settled: boolean;
}

/**
 * Watch local roots and poll the rest, handing scopes to `job`.
 *
 * @param job What hears of changes.
 * @param options Roots, polling, sink, signal.
 * @returns The running watcher.
 */
export function startWatching(job: WatchTarget, options: WatchOptions): Watching {
  const { sink } = options;
  const make = options.watchFs ?? ((p: string) => Deno.watchFs(p, { recursive: true }));
  const own = new Map<string, OwnChange & { until: number }>();
  const pending = new Set<string>();
  let whole = false;
  let first = 0;
  /** Cancels the pending flush; undefined when none is pending. */
  let timer: (() => void) | undefined;
  let batches = 0;
  let received = 0;
  let stopPolling: (() => void) | undefined;
  const watchers: { close(): void }[] = [];
  let stopped = false;

  const flush = () => {
    timer = undefined;
    first = 0;
    const keys = [...pending];
    pending.clear();
    const all = whole;
    whole = false;
    if (all) {
      batches++;
      job.request();
      return;
    }
    const changed = keys.filter((k) => !isOwnWrite(k));
    if (changed.length < keys.length) {
      const mine = keys.filter((k) => !changed.includes(k));
      debug(`Not passed on, ferry's own changes: ${sample(mine)}`);
    }
    if (changed.length === 0) return;
    batches++;
    debug(`Changes: ${sample(changed)}`);
    const scope = collapse(changed);
    job.request(scope.length > 0 && scope.length <= PER_BATCH ? scope : undefined);
  };
  const debug = (message: string) => sink.emit({ event: "note", level: "debug", message });
  /** Up to ten tagged keys as `location: key`, and how many more. */
  const sample = (tagged: string[]) => {
    const shown = tagged.slice(0, 10).map((t) => {
      const [at, key] = splitTag(t);
      return `${options.roots.find((r) => r.at === at)?.display ?? at}: ${key}`;
    });
    return shown.join(", ") + (tagged.length > 10 ? ` and ${tagged.length - 10} more` : "");
  };
  const schedule = () => {
    const now = Date.now();
    if (!first) first = now;
    timer?.();
    timer = later(Math.max(0, Math.min(QUIET_MS, first + MAX_WAIT_MS - now)), flush);
  };
  // A path event of ferry's own write (the same size and time as written) is not a change.
  const isOwnWrite = (tagged: string) => {
    const w = own.get(tagged);
    if (!w) return false;
    own.delete(tagged);
    if (w.until < Date.now()) return false;
    const [at, key] = splitTag(tagged);
    const root = options.roots.find((r) => r.at === at);
    if (!root) return false;
    let st: Deno.FileInfo | undefined;
    try {
      st = Deno.statSync(nodePath.join(root.path, key));
    } catch {
      st = undefined;
    }
    if ("present" in w) return w.present === !!st;
    return !!st?.isFile && st.size === w.size && (st.mtime?.getTime() ?? -1) === w.mtime;
  };
  const collapse = (tagged: string[]): string[] => {
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
  };

  const every = options.poll ?? options.fallbackPoll ?? DEFAULT_POLL;
  const fallBack = (display: string, why: string) => {
    sink.emit({
      event: "note",
      level: "warn",
      message: `Cannot watch "${display}" (${why}): looking at it every ${every} s instead`,
    });
    startPolling(every);
  };
  const startPolling = (secs: number) => {
    if (stopPolling !== undefined || stopped) return;
    stopPolling = repeat(secs * 1000, () => job.request());
  };

  for (const r of options.roots) {
    let w: AsyncIterable<Deno.FsEvent> & { close(): void };
    try {
      w = make(r.path);
    } catch (err) {
      fallBack(r.display, describeError(err));
      continue;
    }
    watchers.push(w);
    (async () => {
      try {
        for await (const e of w) {
          received++;
          if (e.flag === "rescan") {
            whole = true;
            schedule();
            continue;
          }
          for (const p of e.paths) {
            const rel = nodePath.relative(r.path, p).split(nodePath.sep).join("/");
            if (!rel || rel.startsWith("..") || isOwnKey(rel)) continue;
            if (isTempName(nodePath.basename(rel))) continue;
            if (options.exclude?.(rel.normalize("NFC"), false)) continue;
            pending.add(`${r.at}\u0000${rel}`);
          }
          if (pending.size > 0) schedule();
        }
      } catch (err) {
        if (!stopped) fallBack(r.display, describeError(err));
      }
    })();
  }
  if (options.poll !== undefined) startPolling(options.poll);

  const stop = () => {
    stopped = true;
    for (const w of watchers) {
      try {
        w.close();
      } catch { /* closed already */ }
    }
    timer?.();
    stopPolling?.();
  };
  options.signal.addEventListener("abort", stop, { once: true });
  return {
    wrote(changes) {
      const until = Date.now() + OWN_WRITE_MS;
      for (const [k, w] of own) if (w.until < Date.now()) own.delete(k);
      for (const { at, key, ...c } of changes) own.set(`${at}\u0000${key}`, { ...c, until });
    },
    stop,
    get batches() {
      return batches;
    },
    get received() {
      return received;
    },
    get settled() {
      return timer === undefined && pending.size === 0 && !whole;
    },
  };
}

/** Seconds between looks at a location that cannot be watched, unless `--poll` says. */
export const DEFAULT_POLL = 30;

/** A full pass this often while watching, unless `--interval` says (events can be missed). */
export const DEFAULT_FULL_PASS = 600;

function splitTag(tagged: string): [number, string] {
  const i = tagged.indexOf("\u0000");
  return [Number(tagged.slice(0, i)), tagged.slice(i + 1)];
}
