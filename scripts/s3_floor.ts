/**
 * The floor for the S3 benchmark: upload every file of a folder with 16 PutObject calls in
 * flight, no listing, no checks, no state. Not a sync: the least work an upload can be.
 *
 *   deno run -A scripts/s3_floor.ts <folder> <endpoint> <bucket> <prefix>
 *
 * @module
 */
import { PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { join, relative } from "node:path";

const [root, endpoint, bucket, prefix] = Deno.args as [string, string, string, string];
const files: string[] = [];
const walk = (dir: string) => {
  for (const e of Deno.readDirSync(dir)) {
    if (e.name === ".ferry") continue;
    const p = join(dir, e.name);
    if (e.isDirectory) walk(p);
    else if (e.isFile) files.push(p);
  }
};
walk(root);
const s3 = new S3Client({
  endpoint,
  region: "us-east-1",
  forcePathStyle: true,
  requestChecksumCalculation: "WHEN_REQUIRED",
  responseChecksumValidation: "WHEN_REQUIRED",
});
let next = 0;
await Promise.all(Array.from({ length: 16 }, async () => {
  while (next < files.length) {
    const f = files[next++]!;
    const body = await Deno.readFile(f);
    await s3.send(
      new PutObjectCommand({ Bucket: bucket, Key: `${prefix}/${relative(root, f)}`, Body: body }),
    );
  }
}));
s3.destroy();
