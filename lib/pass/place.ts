/**
 * Where a location is, as a job's state names it.
 *
 * @module
 */
import { type Backend, osPathOf } from "../backends/backend.ts";

/**
 * Where a location is, as a job names it: a folder's absolute path, else the location as shown
 * (never a password). Not its id: a folder that is missing has no marker to give one.
 *
 * @param b The location.
 * @returns Such as `file:/media/usb/backup` or `s3://bucket/p`.
 */
export function placeOf(b: Backend): string {
  const root = osPathOf(b, "");
  return root !== undefined ? `file:${root}` : b.display;
}
