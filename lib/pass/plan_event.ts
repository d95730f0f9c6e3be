/**
 * A dry run's report of the plan: one event per operation.
 *
 * @module
 */
import type { Op } from "../plan/types.ts";

/**
 * A plan's operation as the event a dry run reports.
 *
 * @param o The operation.
 * @returns The event, marked `dryRun`.
 */
export function planEvent(o: Op) {
  switch (o.op) {
    case "move":
      return { event: "move" as const, path: o.to, from: o.from, files: o.files, dryRun: true };
    case "copy":
    case "update":
    case "delete":
      return { event: o.op, path: o.key, bytes: o.size, dryRun: true };
    case "mkdir":
    case "rmdir":
    case "retime":
      return { event: o.op, path: o.key, dryRun: true };
  }
}
