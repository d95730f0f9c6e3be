import { conformance } from "../backend_conformance.ts";
import { S3Backend } from "../../lib/backends/s3.ts";
import { startS3rver } from "../servers/s3rver.ts";

const server = await startS3rver(["conformance"]);
let n = 0;

conformance("s3 (s3rver)", () => {
  const backend = new S3Backend({
    bucket: "conformance",
    prefix: `run/t${n++}`,
    display: "s3://conformance",
    endpoint: server.endpoint,
    pathStyle: true,
    multipartThreshold: 5 << 20,
  });
  return Promise.resolve({ backend, cleanup: () => Promise.resolve() });
});

Deno.test({
  name: "s3 (s3rver): stop the server",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: () => server.stop(),
});
