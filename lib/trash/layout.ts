/**
 * Where a location keeps what ferry deleted or overwrote: `.ferry/trash/<run>/<path>`, one
 * folder per run named by its UTC time, and beside it `<run>.json`, what removed each path
 * (deleted or overwritten). The trash is below ferry's own folder, so no listing shows it as
 * content.
 *
 * @module
 */
import type { Backend } from "../backends/backend.ts";
import { UsageError } from "../errors.ts";
import { FERRY_DIR } from "../paths.ts";
import { streamOf } from "../util/streams.ts";

/** The trash folder at a location's root. */
export const TRASH_DIR = `${FERRY_DIR}/trash`;

/** Days a location keeps what ferry deleted or overwrote, unless `--trash-days` says else. */
export const TRASH_DAYS = 30;

/** Why a version is in the trash. */
export type TrashWhy = "deleted" | "overwritten";

/**
 * The name of a run's folder in the trash: its UTC time to the millisecond, with no colon (a
 * name Windows and every FTP server take), sorting as the times do.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * assert.equal(runName(Date.UTC(2026, 11, 8, 0, 14, 46, 5)), "2026-12-08T00-14-46.005Z");
 * ```
 *
 * @param now The run's start, ms since the epoch.
 * @returns The folder's name.
 */
export function runName(now: number): string {
  return new Date(now).toISOString().replaceAll(":", "-");
}

/**
 * The time a run's folder is named by.
 *
 * @param run A folder name made by {@linkcode runName}.
 * @returns Ms since the epoch, or NaN when it is no such name.
 */
export function runTime(run: string): number {
  const m = /^(\d{4}-\d\d-\d\d)T(\d\d)-(\d\d)-(\d\d(?:\.\d+)?)Z$/.exec(run);
  return m ? Date.parse(`${m[1]}T${m[2]}:${m[3]}:${m[4]}Z`) : NaN;
}

/**
 * The key a path's old version is kept at.
 *
 * @param run The run's folder name.
 * @param key The path at the location.
 * @returns Its key in the trash.
 */
export function trashKey(run: string, key: string): string {
  return `${TRASH_DIR}/${run}/${key}`;
}

/**
 * The key of a run's record of why each path was kept.
 *
 * @param run The run's folder name.
 * @returns The record's key.
 */
export function manifestKey(run: string): string {
  return `${TRASH_DIR}/${run}.json`;
}

/**
 * Write a run's record (one small file per run and location, written once at its end).
 *
 * @param b The location.
 * @param run The run's folder name.
 * @param why Why each path was kept.
 * @param now The time to give the record.
 */
export async function writeManifest(
  b: Backend,
  run: string,
  why: ReadonlyMap<string, TrashWhy>,
  now: number,
): Promise<void> {
  const bytes = new TextEncoder().encode(JSON.stringify(Object.fromEntries(why)));
  await b.write(manifestKey(run), streamOf(bytes), { mtime: now, size: bytes.byteLength });
}

/**
 * A run's record, or an empty one where it is missing or unreadable (a run killed before its
 * end wrote none: its paths are then of unknown cause).
 *
 * @param b The location.
 * @param run The run's folder name.
 * @returns Why each path was kept.
 */
export async function readManifest(b: Backend, run: string): Promise<Record<string, TrashWhy>> {
  try {
    const text = await new Response(await b.read(manifestKey(run))).text();
    const data = JSON.parse(text);
    return data && typeof data === "object" ? data : {};
  } catch {
    return {};
  }
}

/**
 * Parse an age such as `7d`, `12h`, `30m` or `90s` (a bare number: days).
 *
 * @param text The age as written.
 * @returns Milliseconds.
 * @throws {UsageError} When it is no such age.
 */
export function parseAge(text: string): number {
  const m = /^(\d+(?:\.\d+)?)([smhdw]?)$/.exec(text.trim());
  if (!m) throw new UsageError(`Invalid age "${text}": expected a number of days or e.g. 7d, 12h`);
  const unit = { s: 1e3, m: 6e4, h: 36e5, d: 864e5, w: 6048e5, "": 864e5 }[m[2] as "s"]!;
  return Number(m[1]) * unit;
}
