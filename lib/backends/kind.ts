/**
 * What a kind of backend declares about itself, in one place (its folder's `kind.ts`): the
 * schemes it parses, its command-line options and their help, how two of its locations compare,
 * the modules it loads lazily and how it opens. lib/backends/registry.ts lists every kind;
 * parsing, opening, the command line, its help, the distinct-places check and the build read
 * that list. Anchor: rclone's `fs.RegInfo`.
 *
 * @module
 */
import type { Backend } from "./backend.ts";
import type { OpenOptions } from "./open.ts";

/** How two locations of one kind stand to each other. */
export type Sameness = "same" | "nested" | "apart";

/** What every location holds, whatever its kind. */
export interface LocationBase {
  /** Which kind of location (`local`, `zip`, `ftps`…): one of its backend kind's `locations`. */
  kind: string;
  /** What the user wrote, safe to print (passwords masked). */
  text: string;
}

/** A command-line option of a backend kind (common to every command). */
export interface BackendFlag {
  /** The option's name without its dashes, such as `ftp-connections`. */
  name: string;
  /** `count`: a whole number of at least 1. */
  type: "boolean" | "string" | "count";
  /** Its left column in help, such as `--ftp-connections <N>`. */
  usage: string;
  /** Its help text; further lines continue it, aligned by the help. */
  help: string;
  /** The option of {@linkcode OpenOptions} it sets (never how to ask, nor the local marker). */
  key: Exclude<keyof OpenOptions, "marker" | "askPassword">;
}

/** A kind of backend: everything ferry needs to know of it outside its own folder. */
export interface BackendKind<L extends LocationBase = LocationBase> {
  /** The kind's name (`local`, `zip`, `ftp`, `s3`). */
  name: string;
  /** The schemes it parses, lower case and without `:` (`zip`; `ftp` and `ftps`). */
  schemes: readonly string[];
  /** The `kind` of the locations it parses (`ftp` and `ftps`). */
  locations: readonly string[];
  /** How messages name it, first the main form: `a folder`, `zip:`, `ftp://`, `ftps://`. */
  spellings: readonly string[];
  /** Schemes whose text is a path and never holds a password, not masked in messages. */
  plainSchemes?: readonly string[];
  /**
   * Parse a location of one of its schemes.
   *
   * @param scheme The scheme, lower case.
   * @param rest What follows `scheme:`.
   * @param text The whole location as written.
   * @returns The location.
   * @throws {UsageError} When it is malformed, in one line that says what to write.
   */
  parse(scheme: string, rest: string, text: string): L;
  /** The kind of plain paths (no scheme, or a Windows drive): parses those. */
  parsePlain?(text: string): L;
  /** Its command-line options. */
  flags?: readonly BackendFlag[];
  /**
   * The help block of its options: `title`, the options (`flags`), then `note`. Blocks come in
   * the order of the registry, those with a `rank` first (lowest first).
   */
  help?: { title: string; note?: string; rank?: number };
  /**
   * Whether two of its locations are the same place, nested, or apart (the default when absent).
   *
   * @param a One location.
   * @param b Another of the same kind.
   * @param options The options they are opened with (such as an S3 endpoint).
   * @returns How they stand.
   */
  compare?(a: L, b: L, options: OpenOptions): Sameness;
  /**
   * Modules it loads on first use (`lazyImport` of lib/lazy.ts), from the repository root: the
   * build includes each by name, and a test checks that every `lazyImport` names a listed one.
   */
  lazy?: readonly string[];
  /** Modules it runs as Workers (loaded by URL), from the repository root: the build includes them. */
  workers?: readonly string[];
  /**
   * Make a backend for one of its locations (not connected yet).
   *
   * @param loc The location.
   * @param options How to open it.
   * @returns The backend.
   */
  open(loc: L, options: OpenOptions): Backend | Promise<Backend>;
}
