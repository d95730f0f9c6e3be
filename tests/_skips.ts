/**
 * Tests that cannot run on this machine (a program missing, not root, not Linux) say why:
 * `scripts/test.ts`, which `deno task test` runs, prints every skipped test with its reason
 * after the run, and the command that installs what they need. A plain `deno test` records
 * nothing.
 *
 * @module
 */
import { relative } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("..", import.meta.url));

/** One reason a test module skips tests, as `scripts/test.ts` reads it. */
export interface SkipReason {
  /** The test module, relative to the repository root (`tests/cli/ftp_cli_test.ts`). */
  module: string;
  why: string;
}

/**
 * Skip tests unless `ok`, and say why.
 *
 * @param ok Whether what the tests need is here.
 * @param module The test module (`import.meta.url`).
 * @param why What is missing, such as "pure-ftpd is not installed, or the tests do not run as
 * root".
 * @returns Whether to skip (a test's `ignore`).
 */
export function skipUnless(ok: boolean, module: string, why: string): boolean {
  if (ok) return false;
  let file: string | undefined;
  try {
    file = Deno.env.get("FERRY_TEST_SKIPS");
  } catch { /* no permission to read it: not run by scripts/test.ts */ }
  if (file) {
    const reason: SkipReason = {
      module: relative(ROOT, fileURLToPath(module)).split("\\").join("/"),
      why,
    };
    Deno.writeTextFileSync(file, JSON.stringify(reason) + "\n", { append: true });
  }
  return true;
}

/**
 * Whether a program is on the PATH.
 *
 * @param name The program.
 * @returns Whether `command -v` finds it.
 */
export function have(name: string): boolean {
  return new Deno.Command("sh", { args: ["-c", `command -v ${name}`], stdout: "null" })
    .outputSync().success;
}
