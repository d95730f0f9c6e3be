import assert from "node:assert/strict";
import { S3Backend } from "../../lib/backends/s3.ts";
import { runPool } from "../../lib/util/pool.ts";
import { startS3rver } from "../servers/s3rver.ts";

Deno.test({
  name: "s3 (s3rver): a listing of more than 1,000 objects follows every page",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const server = await startS3rver(["paging"]);
    const b = new S3Backend({
      bucket: "paging",
      prefix: "many",
      display: "s3://paging/many",
      endpoint: server.endpoint,
      pathStyle: true,
    });
    try {
      const keys = Array.from({ length: 1234 }, (_, i) => `d${i % 7}/f${i}.txt`);
      await runPool(keys, 16, async (k) => {
        await b.write(k, ReadableStream.from([new TextEncoder().encode(k)]), {
          mtime: 1e12,
          size: k.length,
        });
      });
      const listing = await b.list();
      assert.deepEqual(listing.entries.map((e) => e.key).sort(), [...keys].sort());
      assert.ok(listing.entries.every((e) => e.mtime === 1e12), "mtimes read from metadata");
    } finally {
      await b.close();
      await server.stop();
    }
  },
});
