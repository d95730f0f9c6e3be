/**
 * Modules loaded only when a run needs them, by a specifier the module graph does not follow.
 * Deno installs every npm package of the lockfile as soon as the graph holds one, so a literal
 * `import("./s3.ts")` made `ferry --version` download the AWS SDK on a fresh machine. Loaded
 * through {@linkcode lazyImport}, they are fetched on first use only; `deno compile` includes
 * each by name (scripts/build.ts), and a test checks that every lazy module is in that list.
 *
 * @module
 */

/** The lazily loaded modules, relative to the repository root. */
export const LAZY_MODULES = [
  "lib/backends/s3.ts",
  "lib/s3_tools.ts",
  "lib/scan/ignore_lib.ts",
  "lib/backends/zip/zip.ts",
  "lib/backends/ftp/ftp.ts",
  "lib/backends/ftp/tls_session.ts",
] as const;

/**
 * Import one of {@linkcode LAZY_MODULES} by its path from the repository root.
 *
 * @param path One of the lazy modules.
 * @returns The module.
 */
export function lazyImport<T>(path: (typeof LAZY_MODULES)[number]): Promise<T> {
  return import(new URL(`../${path}`, import.meta.url).href) as Promise<T>;
}
