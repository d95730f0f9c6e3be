/**
 * Where the state database and logs live by default: `.ferry/` at the root of the first
 * local-folder location that can hold it (it travels with a USB stick), otherwise the
 * platform's state folder.
 *
 * @module
 */
import * as nodePath from "node:path";
import { FERRY_DIR } from "../paths.ts";
import type { Location } from "../location.ts";

const path = Deno.build.os === "windows" ? nodePath.win32 : nodePath.posix;

/**
 * The platform's folder for ferry's state.
 *
 * @returns An absolute path (not created).
 */
export function platformStateDir(): string {
  const env = (k: string) => Deno.env.get(k);
  const home = env("HOME") ?? env("USERPROFILE") ?? ".";
  switch (Deno.build.os) {
    case "windows":
      return path.join(env("LOCALAPPDATA") ?? path.join(home, "AppData", "Local"), "ferry");
    case "darwin":
      return path.join(home, "Library", "Application Support", "ferry");
    default:
      return path.join(env("XDG_STATE_HOME") ?? path.join(home, ".local", "state"), "ferry");
  }
}

/** A chosen home for state and logs. */
export interface StateHome {
  /** The state database file. */
  db: string;
  /** Folder for timestamped logs. */
  logs: string;
  /** The folder the home is in: a location's root, or the platform's state folder. */
  root: string;
}

/**
 * Pick the state home for a job.
 *
 * @param locations The job's locations, in command-line order.
 * @param create Create the folder (false for runs that must change nothing).
 * @returns Where state and logs go.
 */
export async function chooseStateHome(
  locations: readonly Location[],
  create: boolean,
): Promise<StateHome> {
  for (const loc of locations) {
    if (loc.kind !== "local") continue;
    const dir = path.join(path.resolve(loc.path), FERRY_DIR);
    try {
      if (create) {
        if (!Deno.statSync(path.resolve(loc.path)).isDirectory) continue;
        Deno.mkdirSync(dir, { recursive: true });
        // Prove it is writable: read-only media must fall through to the next choice.
        const probe = path.join(dir, ".write-test");
        Deno.writeTextFileSync(probe, "");
        Deno.removeSync(probe);
      } else if (!Deno.statSync(dir).isDirectory) continue;
      return {
        db: path.join(dir, "state.db"),
        logs: path.join(dir, "logs"),
        root: path.resolve(loc.path),
      };
    } catch {
      continue;
    }
  }
  // Loaded here only: node:crypto adds ~18 ms to start-up, and most jobs keep .ferry/ locally.
  const { createHash } = await import("node:crypto");
  const id = createHash("sha256").update(
    locations.map((l) => (l.kind === "local" ? path.resolve(l.path) : l.text)).join("\n"),
  ).digest("hex");
  const dir = platformStateDir();
  return {
    db: path.join(dir, `state-${id.slice(0, 16)}.db`),
    logs: path.join(dir, "logs"),
    root: dir,
  };
}
