/**
 * Exclusion rules: `--exclude` globs and `.ferryignore` files, both in gitignore syntax. The
 * matcher library loads only when there are patterns, so plain runs start faster.
 *
 * @module
 */
import { lazyImport } from "../lazy.ts";

/** Decides whether a key is excluded; `isDir` lets folder-only patterns (`build/`) match. */
export type ExcludeFn = (key: string, isDir: boolean) => boolean;

/**
 * Build a matcher from gitignore-style patterns.
 *
 * @param patterns Lines of gitignore syntax (comments and blank lines allowed).
 * @returns A function that is true for excluded keys, or undefined when there are no patterns.
 * @example Exclude logs and a build folder
 * ```ts
 * import assert from "node:assert/strict";
 * const skip = (await loadFilter(["*.log", "build/"]))!;
 * assert.deepEqual(skip("a/x.log", false), true);
 * assert.deepEqual(skip("build", true), true);
 * assert.deepEqual(skip("a/x.txt", false), false);
 * ```
 */
export async function loadFilter(patterns: readonly string[]): Promise<ExcludeFn | undefined> {
  if (patterns.length === 0) return undefined;
  const { ignore } = await lazyImport<typeof import("./ignore_lib.ts")>("lib/scan/ignore_lib.ts");
  const ig = ignore({ allowRelativePaths: true }).add([...patterns]);
  return (key, isDir) => key !== "" && ig.ignores(isDir ? key + "/" : key);
}

/**
 * Split the text of a `.ferryignore` file into patterns.
 *
 * @param text The file's content.
 * @returns Its non-empty, non-comment lines.
 */
export function parseIgnoreFile(text: string): string[] {
  return text.split(/\r?\n/).filter((l) => l.trim() !== "" && !l.startsWith("#"));
}
