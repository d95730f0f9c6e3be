/**
 * A local folder's changes as they happen, through `Deno.watchFs`: each event's OS paths
 * turned into keys, ferry's own names (its folder, its temporary files) left out.
 *
 * @module
 */
import * as nodePath from "node:path";
import { isOwnKey, isTempName } from "../../paths.ts";

/** Makes a recursive watcher of a folder (tests stand in for `Deno.watchFs`). */
export type FsWatch = (path: string) => AsyncIterable<Deno.FsEvent> & { close(): void };

const watchFs: FsWatch = (p) => Deno.watchFs(p, { recursive: true });

/**
 * Watch a folder: the keys each event names, or `"rescan"` when the OS lost track.
 *
 * @param root The folder (absolute).
 * @param signal Ends the watch.
 * @param make Makes the watcher (default `Deno.watchFs`, recursive).
 * @returns The batches of changed keys.
 * @throws When the folder cannot be watched (missing, past the OS's watch limit): thrown
 *   at once, not when iterated, so that the caller can poll instead.
 */
export function watchFolder(
  root: string,
  signal: AbortSignal,
  make: FsWatch = watchFs,
): AsyncIterable<readonly string[] | "rescan"> {
  // Watched by its real path: where the OS reports real paths (macOS's /private/var), the
  // events still fall under the folder watched.
  let real = root;
  try {
    real = Deno.realPathSync(root);
  } catch { /* not there: make() says so */ }
  const w = make(real);
  const close = () => {
    try {
      w.close();
    } catch { /* closed already */ }
  };
  if (signal.aborted) close();
  else signal.addEventListener("abort", close, { once: true });
  const keyOf = (p: string): string | undefined => {
    for (const base of real === root ? [root] : [real, root]) {
      const rel = nodePath.relative(base, p).split(nodePath.sep).join("/");
      if (!rel || rel.startsWith("..") || nodePath.isAbsolute(rel)) continue;
      if (isOwnKey(rel) || isTempName(nodePath.basename(rel))) return undefined;
      return rel;
    }
    return undefined;
  };
  return {
    async *[Symbol.asyncIterator]() {
      try {
        for await (const e of w) {
          if (e.flag === "rescan") {
            yield "rescan";
            continue;
          }
          const keys = e.paths.map(keyOf).filter((k) => k !== undefined);
          if (keys.length > 0) yield keys;
        }
      } finally {
        signal.removeEventListener("abort", close);
        close();
      }
    },
  };
}
