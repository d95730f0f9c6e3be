/**
 * Before the tests: install the test servers (s3rver and ftp-srv, run under Node) when they are missing,
 * so that `deno task test` works on a fresh clone with only Node and npm.
 *
 * @module
 */
import { fileURLToPath } from "node:url";

const dir = fileURLToPath(new URL("../tests/servers", import.meta.url));
try {
  Deno.statSync(`${dir}/node_modules/s3rver/bin/s3rver.js`);
  Deno.statSync(`${dir}/node_modules/ftp-srv/ftp-srv.js`);
} catch {
  console.error("prepare: installing the test servers (npm ci --prefix tests/servers)");
  const npm = Deno.build.os === "windows" ? "npm.cmd" : "npm";
  const r = await new Deno.Command(npm, {
    args: ["ci", "--prefix", dir, "--no-audit", "--no-fund", "--silent"],
    stdout: "inherit",
    stderr: "inherit",
  }).output();
  if (!r.success) {
    console.error(
      "prepare: npm ci failed; the S3 and FTP tests need s3rver and ftp-srv (see README, Development)",
    );
    Deno.exit(1);
  }
}
