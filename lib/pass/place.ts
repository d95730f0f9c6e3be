/**
 * Where a location is, as a job's state names it.
 *
 * @module
 */
import type { Backend } from "../backends/backend.ts";

/**
 * Where a location is, as a job names it: a folder's absolute path, else the location as shown
 * (never a password). Not its id: a folder that is missing has no marker to give one.
 *
 * @param b The location.
 * @returns Such as `file:/media/usb/backup` or `s3://bucket/p`.
 */
export function placeOf(b: Backend): string {
  return b.localPath ? `file:${b.localPath("")}` : b.display;
}
