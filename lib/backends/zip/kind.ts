/**
 * ZIP archives: `zip:path/archive.zip`. The ZIP code loads on first use only.
 *
 * @module
 */
import type { BackendKind } from "../kind.ts";
import type { Location } from "../../location.ts";
import { UsageError } from "../../errors.ts";
import { lazyImport } from "../../lazy.ts";
import { realPathOf } from "../local/same_place.ts";

type ZipLocation = Extract<Location, { kind: "zip" }>;

/** ZIP archives on a local disk. */
export const zip: BackendKind<ZipLocation> = {
  name: "zip",
  schemes: ["zip"],
  locations: ["zip"],
  spellings: ["zip:"],
  // zip:C:\a.zip is a path, never a password.
  plainSchemes: ["zip"],
  parse: (_scheme, rest, text) => {
    if (rest === "") {
      throw new UsageError(`Location "${text}" names no archive: write zip:path/archive.zip`);
    }
    return { kind: "zip", path: rest, text };
  },
  // One archive is one place; nothing nests inside an archive.
  compare: (a, b) => realPathOf(a.path) === realPathOf(b.path) ? "same" : "apart",
  lazy: ["lib/backends/zip/zip.ts"],
  workers: ["lib/backends/zip/pack_worker.ts"],
  open: async (loc) => {
    const { ZipBackend } = await lazyImport<typeof import("./zip.ts")>("lib/backends/zip/zip.ts");
    return new ZipBackend(loc.path, loc.text);
  },
};
