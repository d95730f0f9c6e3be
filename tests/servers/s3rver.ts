/**
 * Start s3rver (npm) on 127.0.0.1 for tests, under Node: its listing continuation tokens use
 * DES, which Deno lacks and Node allows only with --openssl-legacy-provider.
 *
 * @module
 */
import { fileURLToPath } from "node:url";
import { freePort, stopChild, waitForWord } from "./_child.ts";

/** A running s3rver. */
export interface S3rver {
  endpoint: string;
  stop(): Promise<void>;
}

const BIN = fileURLToPath(
  new URL("./node_modules/s3rver/bin/s3rver.js", import.meta.url),
);

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
export async function startS3rver(
  buckets: string[] = ["test"],
): Promise<S3rver> {
  try {
    Deno.statSync(BIN);
  } catch {
    throw new Error(
      "s3rver is not installed: run `npm ci --prefix tests/servers`",
    );
  }
  const dir = await Deno.makeTempDir({ prefix: "ferry-s3rver-" });
  const port = freePort();
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
  const child = new Deno.Command("node", {
    args,
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  await waitForWord(child, "listening", "s3rver");
  child.stderr.pipeTo(new WritableStream()).catch(() => {});
  useS3rverCredentials();
  return {
    endpoint: `http://127.0.0.1:${port}`,
    stop: () => stopChild(child, dir),
  };
}
