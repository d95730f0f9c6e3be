/**
 * A test module for `tests/test_script_test.ts` (not a `_test.ts`: the suite leaves it out): one
 * test skipped with a reason, one that passes, and one that fails when asked to.
 *
 * @module
 */
import { skipUnless } from "../_skips.ts";

Deno.test({
  name: "needs a program no machine has",
  ignore: skipUnless(false, import.meta.url, "ferry-no-such-program is not installed"),
  fn() {},
});

Deno.test("runs", () => {
  if (Deno.env.get("FERRY_FIXTURE_FAIL")) throw new Error("asked to fail");
});
