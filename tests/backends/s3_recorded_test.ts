/**
 * What s3rver cannot do, against responses shaped like AWS's documented ones: versioning,
 * archived objects and their restore, UploadPartCopy above the CopyObject limit, and errors.
 *
 * @module
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { LocalBackend } from "../../lib/backends/local.ts";
import { S3Backend, type S3Options } from "../../lib/backends/s3.ts";
import {
  getVersion,
  getVersioning,
  listArchived,
  listVersions,
  restoreArchived,
  setVersioning,
} from "../../lib/s3_tools.ts";
import { StateStore } from "../../lib/state/store.ts";
import { syncOnce } from "../../lib/sync.ts";
import { NS, recordedHandler, type Route, xmlError } from "../_recorded_s3.ts";
import { Recorder } from "../sync/engine_suite.ts";
import { useS3rverCredentials } from "../servers/s3rver.ts";

const LAST_MODIFIED = "Mon, 12 Oct 2026 17:50:00 GMT";

function backend(routes: Route[], extra: Partial<S3Options> = {}) {
  const { handler, seen } = recordedHandler(routes);
  // The same keys as the s3rver tests: test files run in parallel in one process and share
  // its environment, so different keys here made s3rver refuse requests of a test running
  // alongside.
  useS3rverCredentials();
  const b = new S3Backend({
    bucket: "rec",
    prefix: "p",
    display: "s3://rec/p",
    endpoint: "http://s3.recorded.test",
    pathStyle: true,
    requestHandler: handler as unknown as S3Options["requestHandler"],
    ...extra,
  });
  return { b, seen };
}

const ok = (body = "", headers: Record<string, string> = {}) => ({ status: 200, body, headers });

Deno.test("versioning: shows, turns on and suspends bucket versioning", async () => {
  let status = "";
  const { b, seen } = backend([
    (
      r,
    ) => (r.method === "GET" && "versioning" in r.query
      ? ok(
        `<VersioningConfiguration ${NS}>${
          status ? `<Status>${status}</Status>` : ""
        }</VersioningConfiguration>`,
      )
      : undefined),
    (r) => {
      if (r.method !== "PUT" || !("versioning" in r.query)) return undefined;
      status = /<Status>(\w+)<\/Status>/.exec(r.body)?.[1] ?? "";
      return ok();
    },
  ]);
  assert.equal(await getVersioning(b), "Off");
  await setVersioning(b, true);
  assert.equal(await getVersioning(b), "Enabled");
  await setVersioning(b, false);
  assert.equal(await getVersioning(b), "Suspended");
  assert.equal(seen.filter((r) => r.method === "PUT").length, 2);
  await b.close();
});

Deno.test("versions and get --version-id bring back a past version of a file", async () => {
  const { b, seen } = backend([
    (
      r,
    ) => (r.method === "GET" && "versions" in r.query
      ? ok(
        `<ListVersionsResult ${NS}><Name>rec</Name><Prefix>p/doc.txt</Prefix><KeyMarker></KeyMarker>
<VersionIdMarker></VersionIdMarker><MaxKeys>1000</MaxKeys><IsTruncated>false</IsTruncated>
<DeleteMarker><Key>p/doc.txt</Key><VersionId>v3</VersionId><IsLatest>true</IsLatest><LastModified>2026-10-14T10:00:00.000Z</LastModified><Owner><ID>o</ID></Owner></DeleteMarker>
<Version><Key>p/doc.txt</Key><VersionId>v2</VersionId><IsLatest>false</IsLatest><LastModified>2026-10-13T10:00:00.000Z</LastModified><ETag>"e2"</ETag><Size>11</Size><StorageClass>STANDARD</StorageClass></Version>
<Version><Key>p/doc.txt</Key><VersionId>v1</VersionId><IsLatest>false</IsLatest><LastModified>2026-10-12T10:00:00.000Z</LastModified><ETag>"e1"</ETag><Size>11</Size><StorageClass>STANDARD</StorageClass></Version>
<Version><Key>p/doc.txt.bak</Key><VersionId>vb</VersionId><IsLatest>true</IsLatest><LastModified>2026-10-12T11:00:00.000Z</LastModified><ETag>"eb"</ETag><Size>3</Size><StorageClass>STANDARD</StorageClass></Version>
</ListVersionsResult>`,
      )
      : undefined),
    (
      r,
    ) => (r.method === "GET" && r.path === "/rec/p/doc.txt" && r.query.versionId === "v1"
      ? ok("old content", { "last-modified": LAST_MODIFIED, "x-amz-version-id": "v1" })
      : undefined),
    (
      r,
    ) => (r.method === "GET" && r.path === "/rec/p/doc.txt"
      ? { status: 404, body: xmlError("NoSuchVersion", "The specified version does not exist.") }
      : undefined),
  ]);
  const vs = await listVersions(b, "doc.txt");
  assert.deepEqual(vs.map((v) => [v.versionId, v.deleted, v.latest]), [
    ["v3", true, true],
    ["v2", false, false],
    ["v1", false, false],
  ]);
  const dir = await Deno.makeTempDir();
  try {
    const out = join(dir, "doc (v1).txt");
    const r = await getVersion(b, "doc.txt", "v1", out);
    assert.equal(r.size, 11);
    assert.equal(await Deno.readTextFile(out), "old content");
    assert.equal((await Deno.stat(out)).mtime?.toUTCString(), LAST_MODIFIED);
    await assert.rejects(getVersion(b, "doc.txt", "nope", join(dir, "x")), /No version "nope"/);
    assert.deepEqual([...Deno.readDirSync(dir)].map((e) => e.name), ["doc (v1).txt"]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
  assert.ok(seen.some((r) => r.query.versionId === "v1"));
  await b.close();
});

/** A prefix holding one object in each archive situation. */
function archiveRoutes(restoreCalls: { key: string; body: string }[]): Route[] {
  return [
    (
      r,
    ) => (r.method === "GET" && r.query["list-type"] === "2"
      ? ok(
        `<ListBucketResult ${NS}><Name>rec</Name><Prefix>p/</Prefix><KeyCount>5</KeyCount><MaxKeys>1000</MaxKeys><IsTruncated>false</IsTruncated>
<Contents><Key>p/a.txt</Key><LastModified>2026-10-12T10:00:00.000Z</LastModified><ETag>"ea"</ETag><Size>5</Size><StorageClass>STANDARD</StorageClass></Contents>
<Contents><Key>p/cold/old.bin</Key><LastModified>2020-01-01T00:00:00.000Z</LastModified><ETag>"ec"</ETag><Size>4</Size><StorageClass>GLACIER</StorageClass></Contents>
<Contents><Key>p/cold/deep.bin</Key><LastModified>2020-01-01T00:00:00.000Z</LastModified><ETag>"ed"</ETag><Size>4</Size><StorageClass>DEEP_ARCHIVE</StorageClass><RestoreStatus><IsRestoreInProgress>true</IsRestoreInProgress></RestoreStatus></Contents>
<Contents><Key>p/cold/thawed.bin</Key><LastModified>2020-01-01T00:00:00.000Z</LastModified><ETag>"et"</ETag><Size>6</Size><StorageClass>GLACIER</StorageClass><RestoreStatus><IsRestoreInProgress>false</IsRestoreInProgress><RestoreExpiryDate>2026-12-01T00:00:00.000Z</RestoreExpiryDate></RestoreStatus></Contents>
<Contents><Key>p/it.bin</Key><LastModified>2020-01-01T00:00:00.000Z</LastModified><ETag>"ei"</ETag><Size>2</Size><StorageClass>INTELLIGENT_TIERING</StorageClass></Contents>
</ListBucketResult>`,
      )
      : undefined),
    (r) => (r.method === "HEAD" && /^\/rec\/?$/.test(r.path) ? ok() : undefined), // HeadBucket
    (r) => {
      if (r.method !== "HEAD") return undefined;
      const h: Record<string, Record<string, string>> = {
        "/rec/p/a.txt": { "x-amz-meta-mtime": "1700000000.000000000" },
        "/rec/p/cold/old.bin": { "x-amz-storage-class": "GLACIER" },
        "/rec/p/cold/deep.bin": {
          "x-amz-storage-class": "DEEP_ARCHIVE",
          "x-amz-restore": 'ongoing-request="true"',
        },
        "/rec/p/cold/thawed.bin": {
          "x-amz-storage-class": "GLACIER",
          "x-amz-restore": 'ongoing-request="false", expiry-date="Tue, 01 Dec 2026 00:00:00 GMT"',
          "x-amz-meta-mtime": "1600000000.500000000",
        },
        "/rec/p/it.bin": {
          "x-amz-storage-class": "INTELLIGENT_TIERING",
          "x-amz-archive-status": "DEEP_ARCHIVE_ACCESS",
        },
      };
      const headers = h[r.path];
      if (!headers) return { status: 404 };
      return ok("", { "last-modified": LAST_MODIFIED, etag: '"x"', ...headers });
    },
    (r) => {
      if (r.method !== "POST" || !("restore" in r.query)) return undefined;
      restoreCalls.push({ key: r.path, body: r.body });
      return { status: 202 };
    },
    (
      r,
    ) => (r.method === "GET" && r.path === "/rec/p/a.txt"
      ? ok("hello", { "last-modified": LAST_MODIFIED })
      : undefined),
    (
      r,
    ) => (r.method === "GET" && r.path === "/rec/p/cold/thawed.bin"
      ? ok("thawed", { "last-modified": LAST_MODIFIED })
      : undefined),
  ];
}

Deno.test("restore-status and restore: each archived object's state, and thawing only what needs it", async () => {
  const calls: { key: string; body: string }[] = [];
  const { b } = backend(archiveRoutes(calls));
  const status = await listArchived(b);
  assert.deepEqual(status.map((s) => [s.key, s.state]), [
    ["cold/deep.bin", "restoring"],
    ["cold/old.bin", "archived"],
    ["cold/thawed.bin", "restored"],
    ["it.bin", "archived"],
  ]);
  assert.equal(status.find((s) => s.key === "cold/thawed.bin")?.expiry, "2026-12-01T00:00:00.000Z");
  const r = await restoreArchived(b, { tier: "Standard", days: 3 });
  assert.deepEqual(r.requested, ["cold/old.bin", "it.bin"]);
  assert.deepEqual(r.alreadyRestoring, ["cold/deep.bin"]);
  assert.deepEqual(r.alreadyRestored, ["cold/thawed.bin"]);
  const glacier = calls.find((c) => c.key === "/rec/p/cold/old.bin")!;
  assert.match(glacier.body, /<Days>3<\/Days>/);
  assert.match(glacier.body, /<Tier>Standard<\/Tier>/);
  const it = calls.find((c) => c.key === "/rec/p/it.bin")!;
  assert.doesNotMatch(it.body, /<Days>/); // Intelligent-Tiering takes no Days
  await b.close();
});

Deno.test("sync from S3 skips archived objects, keeps their local copies, and fetches thawed ones", async () => {
  const { b } = backend(archiveRoutes([]));
  const dir = await Deno.makeTempDir();
  try {
    await Deno.mkdir(join(dir, "cold"), { recursive: true });
    await Deno.writeTextFile(join(dir, "cold", "old.bin"), "keep");
    await Deno.writeTextFile(join(dir, "gone.txt"), "x");
    const rec = new Recorder();
    const state = StateStore.open(":memory:");
    const r = await syncOnce(b, new LocalBackend(dir), {
      sink: rec,
      state,
      delete: true,
      force: true,
    });
    state.close();
    assert.deepEqual(r.archived.sort(), ["cold/deep.bin", "cold/old.bin", "it.bin"]);
    assert.equal(r.summary.skipped, 3);
    assert.equal(r.summary.copied, 2);
    assert.equal(r.summary.deleted, 1); // gone.txt: the source really lacks it
    assert.equal(await Deno.readTextFile(join(dir, "cold", "old.bin")), "keep");
    assert.equal(await Deno.readTextFile(join(dir, "cold", "thawed.bin")), "thawed");
    assert.equal((await Deno.stat(join(dir, "a.txt"))).mtime?.getTime(), 1_700_000_000_000);
  } finally {
    await Deno.remove(dir, { recursive: true });
    await b.close();
  }
});

Deno.test("a move above the CopyObject limit uses UploadPartCopy and keeps class, encryption and headers", async () => {
  const { b, seen } = backend([
    (r) => {
      if (r.method !== "HEAD") return undefined;
      if (r.path !== "/rec/p/big.bin") return { status: 404 };
      return ok("", {
        "content-length": "20",
        "last-modified": LAST_MODIFIED,
        etag: '"big"',
        "x-amz-storage-class": "STANDARD_IA",
        "x-amz-server-side-encryption": "aws:kms",
        "x-amz-server-side-encryption-aws-kms-key-id": "arn:aws:kms:us-east-1:111122223333:key/k1",
        "content-type": "video/quicktime",
        "x-amz-meta-mtime": "1600000000.000000000",
      });
    },
    (
      r,
    ) => (r.method === "POST" && "uploads" in r.query
      ? ok(
        `<InitiateMultipartUploadResult ${NS}><Bucket>rec</Bucket><Key>p/moved.bin</Key><UploadId>up1</UploadId></InitiateMultipartUploadResult>`,
      )
      : undefined),
    (
      r,
    ) => (r.method === "PUT" && r.query.uploadId === "up1"
      ? ok(
        `<CopyPartResult ${NS}><LastModified>2026-10-12T10:00:00.000Z</LastModified><ETag>"part${r.query.partNumber}"</ETag></CopyPartResult>`,
      )
      : undefined),
    (
      r,
    ) => (r.method === "POST" && r.query.uploadId === "up1"
      ? ok(
        `<CompleteMultipartUploadResult ${NS}><Location>x</Location><Bucket>rec</Bucket><Key>p/moved.bin</Key><ETag>"done-3"</ETag></CompleteMultipartUploadResult>`,
      )
      : undefined),
    (r) => (r.method === "DELETE" && r.path === "/rec/p/big.bin" ? { status: 204 } : undefined),
  ], { copyPartThreshold: 10, copyPartSize: 8 });
  await b.move("big.bin", "moved.bin");
  const create = seen.find((r) => r.method === "POST" && "uploads" in r.query)!;
  assert.equal(create.headers["x-amz-storage-class"], "STANDARD_IA");
  assert.equal(create.headers["x-amz-server-side-encryption"], "aws:kms");
  assert.equal(
    create.headers["x-amz-server-side-encryption-aws-kms-key-id"],
    "arn:aws:kms:us-east-1:111122223333:key/k1",
  );
  assert.equal(create.headers["content-type"], "video/quicktime");
  assert.equal(create.headers["x-amz-meta-mtime"], "1600000000.000000000");
  const parts = seen.filter((r) => r.method === "PUT" && r.query.uploadId === "up1");
  assert.deepEqual(parts.map((p) => p.headers["x-amz-copy-source-range"]).sort(), [
    "bytes=0-7",
    "bytes=16-19",
    "bytes=8-15",
  ]);
  assert.ok(parts.every((p) => p.headers["x-amz-copy-source"] === "rec/p/big.bin"));
  const complete = seen.find((r) => r.method === "POST" && r.query.uploadId === "up1")!;
  assert.match(complete.body, /<PartNumber>1<\/PartNumber>[\s\S]*<PartNumber>3<\/PartNumber>/);
  assert.ok(seen.some((r) => r.method === "DELETE" && r.path === "/rec/p/big.bin"));
  assert.ok(!seen.some((r) => r.method === "PUT" && !r.query.uploadId), "no content was uploaded");
  await b.close();
});

Deno.test("a small move is one CopyObject keeping the storage class and encryption", async () => {
  const { b, seen } = backend([
    (r) => {
      if (r.method !== "HEAD") return undefined;
      if (r.path !== "/rec/p/a.txt") return { status: 404 };
      return ok("", {
        "content-length": "5",
        "x-amz-storage-class": "GLACIER_IR",
        "x-amz-server-side-encryption": "AES256",
      });
    },
    (
      r,
    ) => (r.method === "PUT" && r.headers["x-amz-copy-source"]
      ? ok(
        `<CopyObjectResult ${NS}><LastModified>2026-10-12T10:00:00.000Z</LastModified><ETag>"c"</ETag></CopyObjectResult>`,
      )
      : undefined),
    (r) => (r.method === "DELETE" ? { status: 204 } : undefined),
  ]);
  await b.move("a.txt", "sub dir/b.txt");
  const copy = seen.find((r) => r.method === "PUT")!;
  assert.equal(copy.path, "/rec/p/sub dir/b.txt");
  assert.equal(copy.headers["x-amz-copy-source"], "rec/p/a.txt");
  assert.equal(copy.headers["x-amz-metadata-directive"], "COPY");
  assert.equal(copy.headers["x-amz-storage-class"], "GLACIER_IR");
  assert.equal(copy.headers["x-amz-server-side-encryption"], "AES256");
  await b.close();
});

Deno.test("S3 errors become one line that says what to do", async () => {
  const cases: [Route, RegExp][] = [
    [
      () => ({
        status: 403,
        body: xmlError(
          "RequestTimeTooSkewed",
          "The difference between the request time and the current time is too large.",
        ),
      }),
      /clock is too far/,
    ],
    [
      () => ({
        status: 403,
        body: xmlError(
          "InvalidAccessKeyId",
          "The AWS Access Key Id you provided does not exist in our records.",
        ),
      }),
      /check the credentials/,
    ],
    [
      () => ({
        status: 404,
        body: xmlError("NoSuchBucket", "The specified bucket does not exist"),
      }),
      /does not exist/,
    ],
    [
      () => ({
        status: 301,
        headers: { "x-amz-bucket-region": "eu-west-1" },
        body: xmlError(
          "PermanentRedirect",
          "The bucket you are attempting to access must be addressed using the specified endpoint.",
        ),
      }),
      /--region eu-west-1/,
    ],
  ];
  for (const [route, re] of cases) {
    const { b } = backend([route]);
    await assert.rejects(
      b.list(),
      (err: Error) => re.test(err.message) && !err.message.includes("\n"),
    );
    await b.close();
  }
});

Deno.test("D10: uploads a killed run left open are aborted: the journaled ones, and any older than a day", async () => {
  const old = "2020-01-01T00:00:00.000Z";
  const young = new Date(Date.now() - 3600_000).toISOString();
  const { b, seen } = backend([
    (r) =>
      r.method === "GET" && "uploads" in r.query
        ? ok(
          `<ListMultipartUploadsResult ${NS}><Bucket>rec</Bucket>` +
            `<Upload><Key>p/stale.bin</Key><UploadId>stale-id</UploadId><Initiated>${old}</Initiated></Upload>` +
            `<Upload><Key>p/live.bin</Key><UploadId>live-id</UploadId><Initiated>${young}</Initiated></Upload>` +
            `</ListMultipartUploadsResult>`,
        )
        : undefined,
    (r) => (r.method === "DELETE" && "uploadId" in r.query ? { status: 204 } : undefined),
  ]);
  const state = StateStore.open(":memory:");
  state.add(b.id, "p/killed.bin", "killed-id");
  assert.equal(await b.recoverUploads(state), 2);
  const aborted = seen.filter((r) => r.method === "DELETE").map((r) => r.query.uploadId).sort();
  assert.deepEqual(aborted, ["killed-id", "stale-id"], "the live upload of an hour ago is left");
  assert.deepEqual(state.list(b.id), []);
  state.close();
});
