/**
 * Start s3rver (npm) on 127.0.0.1 for tests, under Node: its listing continuation tokens use
 * DES, which Deno lacks and Node allows only with --openssl-legacy-provider.
 *
 * @module
 */
import { fileURLToPath } from "node:url";
import { join } from "node:path";

/** A running s3rver. */
export interface S3rver {
  endpoint: string;
  stop(): Promise<void>;
}

const BIN = fileURLToPath(new URL("./node_modules/s3rver/bin/s3rver.js", import.meta.url));

/** s3rver's fixed credentials, set in the environment for the SDK's default chain. */
export function useS3rverCredentials(): void {
  Deno.env.set("AWS_ACCESS_KEY_ID", "S3RVER");
  Deno.env.set("AWS_SECRET_ACCESS_KEY", "S3RVER");
  Deno.env.set("AWS_REGION", "us-east-1");
}

/**
 * Start a server with these buckets.
 *
 * @param buckets Bucket names to create.
 * @returns The endpoint and a stop function.
 */
export async function startS3rver(buckets: string[] = ["test"]): Promise<S3rver> {
  try {
    Deno.statSync(BIN);
  } catch {
    throw new Error("s3rver is not installed: run `npm ci --prefix tests/servers`");
  }
  const dir = await Deno.makeTempDir({ prefix: "ferry-s3rver-" });
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  const args = [
    "--openssl-legacy-provider",
    BIN,
    "-d",
    dir,
    "-a",
    "127.0.0.1",
    "-p",
    String(port),
    "--silent",
  ];
  for (const b of buckets) args.push("--configure-bucket", b);
  const child = new Deno.Command("node", { args, stdout: "piped", stderr: "piped" }).spawn();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let seen = "";
  const deadline = Date.now() + 20_000;
  while (!seen.includes("listening") && Date.now() < deadline) {
    const r = await Promise.race([
      reader.read(),
      new Promise<{ done: true; value: undefined }>((res) =>
        setTimeout(() => res({ done: true, value: undefined }), deadline - Date.now())
      ),
    ]);
    if (r.done) break;
    seen += r.value;
  }
  if (!seen.includes("listening")) {
    child.kill();
    throw new Error(`s3rver did not start: ${seen}`);
  }
  // Keep draining its output so it never blocks on a full pipe.
  (async () => {
    try {
      while (!(await reader.read()).done) { /* drain */ }
    } catch { /* closed */ }
  })();
  child.stderr.pipeTo(new WritableStream()).catch(() => {});
  useS3rverCredentials();
  return {
    endpoint: `http://127.0.0.1:${port}`,
    async stop() {
      try {
        child.kill("SIGTERM");
      } catch { /* gone */ }
      await child.status;
      await Deno.remove(join(dir), { recursive: true }).catch(() => {});
    },
  };
}
