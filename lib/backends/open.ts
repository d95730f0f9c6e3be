/**
 * Turn a parsed location into a backend. Heavy backends load lazily, so that `ferry --help`
 * and local syncs never pay for them.
 *
 * @module
 */
import type { Backend } from "./backend.ts";
import { LocalBackend } from "./local.ts";
import type { Location } from "../location.ts";
import { UsageError } from "../errors.ts";

/** Options when opening a location. */
export interface OpenOptions {
  /** Walk local trees in a Worker (used for the source when both sides are local). */
  listOffThread?: boolean;
}

/**
 * Open a backend for a location.
 *
 * @param loc A parsed location.
 * @param options How to open it.
 * @returns The backend.
 * @throws {UsageError} For kinds this build cannot open yet.
 */
export function openLocation(loc: Location, options: OpenOptions = {}): Promise<Backend> {
  switch (loc.kind) {
    case "local":
      return Promise.resolve(
        new LocalBackend(loc.path, { listOffThread: options.listOffThread ?? false }),
      );
    default:
      return Promise.reject(
        new UsageError(
          `Cannot open "${loc.text}": ${loc.kind} locations are not supported by this version of ferry yet (only local folders are)`,
        ),
      );
  }
}
