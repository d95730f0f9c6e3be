/**
 * Local folders: plain paths (`./dir`, `/abs`, `C:\dir`), `folder:` and `file://` URLs.
 *
 * @module
 */
import type { BackendKind } from "../kind.ts";
import type { Location } from "../../location.ts";
import { UsageError } from "../../errors.ts";
import { maskUnparsed } from "../../location.ts";
import { LocalBackend } from "../local.ts";
import { compareFolders } from "./same_place.ts";

type LocalLocation = Extract<Location, { kind: "local" }>;

function fileUrlPath(text: string): string {
  try {
    const u = new URL(text);
    const p = decodeURIComponent(u.pathname);
    return Deno.build.os === "windows" && /^\/[A-Za-z]:/.test(p) ? p.slice(1) : p;
  } catch {
    throw new UsageError(`Location "${maskUnparsed(text)}" is not a valid file:// URL`);
  }
}

/** Local folders, the kind of every location without a scheme. */
export const local: BackendKind<LocalLocation> = {
  name: "local",
  schemes: ["folder", "file"],
  locations: ["local"],
  spellings: ["a folder"],
  // folder:/a:b@c names a folder; a file:// URL may be anything.
  plainSchemes: ["folder"],
  parse: (scheme, rest, text) => ({
    kind: "local",
    path: scheme === "file" ? fileUrlPath(text) : rest,
    text,
  }),
  parsePlain: (text) => ({ kind: "local", path: text, text }),
  compare: (a, b) => compareFolders(a.path, b.path),
  workers: ["lib/backends/local/walk_worker.ts", "lib/backends/local/copy_worker.ts"],
  open: (loc, options) =>
    new LocalBackend(loc.path, options.marker === false ? { marker: false } : {}),
};
