/**
 * Events the engine emits while it works. The output layer (`lib/cli/output.ts`) turns them
 * into lines, JSON or a progress bar; the engine never prints.
 *
 * @module
 */

/**
 * Where an event happened: the job (set by a {@linkcode Job} driver) and the location an
 * operation acted on (its display name, passwords masked).
 */
export interface EventOrigin {
  /** The job's key (its members' ids); absent outside a {@linkcode Job}. */
  job?: string;
  /** Display name of the location the operation acted on; absent for whole-pass events. */
  location?: string;
}

/** Everything the engine reports. */
export type SyncEvent =
  & EventOrigin
  & (
    | {
      event: "copy" | "update" | "delete" | "mkdir" | "rmdir";
      path: string;
      bytes?: number;
      dryRun?: boolean;
      /** A deletion or overwrite: where the old version was kept (its key in the trash). */
      trash?: string;
    }
    | { event: "move"; path: string; from: string; files: number; dryRun?: boolean }
    /** The time of a file set, its content (the same) not sent. */
    | { event: "retime"; path: string; dryRun?: boolean }
    | { event: "skip"; path: string; reason: string }
    | { event: "fail"; path: string; op: string; error: string }
    | { event: "conflict"; path: string; message: string }
    | { event: "progress"; files: number; totalFiles: number; bytes: number; totalBytes: number }
    | { event: "note"; message: string; level?: "info" | "warn" | "debug" }
  );

/** Where events go. */
export interface EventSink {
  /** Take one event; called synchronously by the engine, so it must not block or throw. */
  emit(e: SyncEvent): void;
}

/** A sink that drops everything (library use without output). */
export const silentSink: EventSink = { emit() {} };
