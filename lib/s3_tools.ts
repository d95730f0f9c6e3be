/**
 * The S3 commands beside sync: thawing archived objects, their restore progress, bucket
 * versioning, and fetching a past version of a file.
 *
 * @module
 */
import {
  GetBucketVersioningCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectVersionsCommand,
  type ListObjectVersionsCommandOutput,
  PutBucketVersioningCommand,
  RestoreObjectCommand,
} from "@aws-sdk/client-s3";
import type { S3Backend } from "./backends/s3.ts";
import { describeS3Error, s3ErrorCode } from "./backends/s3_errors.ts";
import { runPool } from "./util/pool.ts";
import { checkKey, tempName } from "./paths.ts";
import { writeStreamExactly } from "./backends/local/write_stream.ts";
import * as nodePath from "node:path";

/** Where an archived object stands. */
export interface ArchivedObject {
  key: string;
  storageClass: string;
  /** `archived`: needs a restore; `restoring`: asked, not ready; `restored`: readable until `expiry`. */
  state: "archived" | "restoring" | "restored";
  expiry?: string;
}

const ARCHIVE = new Set(["GLACIER", "DEEP_ARCHIVE"]);

function restoreState(restore: string | undefined): ArchivedObject["state"] {
  if (!restore) return "archived";
  return /ongoing-request="true"/.test(restore) ? "restoring" : "restored";
}

/**
 * Every object under the location that lives in an archive tier, with its restore state.
 * The listing's RestoreStatus is used where the store gives it; a HEAD per object otherwise.
 *
 * @param b The location.
 * @returns The archived objects, by key.
 */
export async function listArchived(b: S3Backend): Promise<ArchivedObject[]> {
  const base = b.prefix === "" ? "" : b.prefix + "/";
  const out: ArchivedObject[] = [];
  const needHead: ArchivedObject[] = [];
  for await (const page of b.pages()) {
    for (const o of page) {
      const cls = o.StorageClass ?? "STANDARD";
      if (!ARCHIVE.has(cls) && cls !== "INTELLIGENT_TIERING") continue;
      const a: ArchivedObject = {
        key: (o.Key ?? "").slice(base.length),
        storageClass: cls,
        state: "archived",
      };
      const rs = o.RestoreStatus;
      if (rs && ARCHIVE.has(cls)) {
        a.state = rs.IsRestoreInProgress
          ? "restoring"
          : rs.RestoreExpiryDate
          ? "restored"
          : "archived";
        if (rs.RestoreExpiryDate) a.expiry = rs.RestoreExpiryDate.toISOString();
        out.push(a);
      } else needHead.push(a);
    }
  }
  await runPool(needHead, 16, async (a) => {
    const h = await b.client.send(new HeadObjectCommand({ Bucket: b.bucket, Key: base + a.key }));
    if (a.storageClass === "INTELLIGENT_TIERING") {
      // Only the archive access tiers need a restore; the others read as usual.
      if (h.ArchiveStatus !== "ARCHIVE_ACCESS" && h.ArchiveStatus !== "DEEP_ARCHIVE_ACCESS") return;
      a.storageClass = `INTELLIGENT_TIERING/${h.ArchiveStatus}`;
    }
    a.state = restoreState(h.Restore);
    const exp = /expiry-date="([^"]+)"/.exec(h.Restore ?? "")?.[1];
    if (exp) a.expiry = new Date(exp).toISOString();
    out.push(a);
  });
  return out.sort((x, y) => (x.key < y.key ? -1 : 1));
}

/** What `restore` did. */
export interface RestoreResult {
  requested: string[];
  alreadyRestoring: string[];
  alreadyRestored: string[];
  failed: { key: string; error: string }[];
}

/**
 * Ask S3 to thaw every archived object under the location that is not thawed or thawing.
 *
 * @param b The location.
 * @param options Retrieval tier and how many days the thawed copy stays.
 * @returns Which objects were asked for, and which needed nothing.
 */
export async function restoreArchived(
  b: S3Backend,
  options: { tier: "Bulk" | "Standard" | "Expedited"; days: number },
): Promise<RestoreResult> {
  const res: RestoreResult = {
    requested: [],
    alreadyRestoring: [],
    alreadyRestored: [],
    failed: [],
  };
  const base = b.prefix === "" ? "" : b.prefix + "/";
  const objects = await listArchived(b);
  await runPool(objects, 8, async (o) => {
    if (o.state === "restoring") return void res.alreadyRestoring.push(o.key);
    if (o.state === "restored") return void res.alreadyRestored.push(o.key);
    // Intelligent-Tiering archive tiers take no Days: the object moves back to a frequent tier.
    const it = o.storageClass.startsWith("INTELLIGENT_TIERING");
    try {
      await b.client.send(
        new RestoreObjectCommand({
          Bucket: b.bucket,
          Key: base + o.key,
          RestoreRequest: it
            ? {}
            : { Days: options.days, GlacierJobParameters: { Tier: options.tier } },
        }),
      );
      res.requested.push(o.key);
    } catch (err) {
      if (s3ErrorCode(err) === "RestoreAlreadyInProgress") res.alreadyRestoring.push(o.key);
      else res.failed.push({ key: o.key, error: describeS3Error(err, b.display) });
    }
  });
  for (const list of [res.requested, res.alreadyRestoring, res.alreadyRestored]) list.sort();
  return res;
}

/**
 * The bucket's versioning state.
 *
 * @param b The location.
 * @returns `Enabled`, `Suspended`, or `Off` (never enabled).
 */
export async function getVersioning(b: S3Backend): Promise<string> {
  try {
    const r = await b.client.send(new GetBucketVersioningCommand({ Bucket: b.bucket }));
    return r.Status ?? "Off";
  } catch (err) {
    throw new Error(describeS3Error(err, b.display));
  }
}

/**
 * Turn bucket versioning on, or suspend it (S3 cannot turn it off once on).
 *
 * @param b The location.
 * @param on True to enable.
 */
export async function setVersioning(b: S3Backend, on: boolean): Promise<void> {
  try {
    await b.client.send(
      new PutBucketVersioningCommand({
        Bucket: b.bucket,
        VersioningConfiguration: { Status: on ? "Enabled" : "Suspended" },
      }),
    );
  } catch (err) {
    throw new Error(describeS3Error(err, b.display));
  }
}

/** One stored version of a file. */
export interface Version {
  versionId: string;
  latest: boolean;
  lastModified: string;
  size: number;
  /** A delete marker: the file was deleted at this point. */
  deleted: boolean;
}

/**
 * A file's stored versions, newest first.
 *
 * @param b The location.
 * @param path The file's path inside the location.
 * @returns Its versions and delete markers.
 */
export async function listVersions(b: S3Backend, path: string): Promise<Version[]> {
  const key = b.objectKey(path);
  const out: Version[] = [];
  let keyMarker: string | undefined;
  let versionMarker: string | undefined;
  for (let page = 0; page < 100_000; page++) {
    let r: ListObjectVersionsCommandOutput;
    try {
      r = await b.client.send(
        new ListObjectVersionsCommand({
          Bucket: b.bucket,
          Prefix: key,
          KeyMarker: keyMarker,
          VersionIdMarker: versionMarker,
        }),
      );
    } catch (err) {
      throw new Error(describeS3Error(err, b.display));
    }
    for (const v of r.Versions ?? []) {
      if (v.Key !== key) continue;
      out.push({
        versionId: v.VersionId ?? "null",
        latest: !!v.IsLatest,
        lastModified: v.LastModified?.toISOString() ?? "",
        size: v.Size ?? 0,
        deleted: false,
      });
    }
    for (const d of r.DeleteMarkers ?? []) {
      if (d.Key !== key) continue;
      out.push({
        versionId: d.VersionId ?? "null",
        latest: !!d.IsLatest,
        lastModified: d.LastModified?.toISOString() ?? "",
        size: 0,
        deleted: true,
      });
    }
    if (!r.IsTruncated) break;
    keyMarker = r.NextKeyMarker;
    versionMarker = r.NextVersionIdMarker;
  }
  return out.sort((x, y) => (x.lastModified < y.lastModified ? 1 : -1));
}

/**
 * Fetch one past version of a file into a local file, atomically (temp name, then rename).
 *
 * @param b The location.
 * @param path The file's path inside the location.
 * @param versionId The version (from {@linkcode listVersions}).
 * @param output Local file to write; default: the file's name in the working folder.
 * @returns The path written and its size.
 */
export async function getVersion(
  b: S3Backend,
  path: string,
  versionId: string,
  output?: string,
): Promise<{ path: string; size: number }> {
  const target = nodePath.resolve(output ?? nodePath.basename(checkKey(path)));
  const tmp = nodePath.join(nodePath.dirname(target), tempName());
  let size = 0;
  try {
    const r = await b.client.send(
      new GetObjectCommand({ Bucket: b.bucket, Key: b.objectKey(path), VersionId: versionId }),
    );
    if (!r.Body) throw new Error(`Version "${versionId}" of "${path}" has no content`);
    if (r.ContentLength === undefined) {
      throw new Error(`Version "${versionId}" of "${path}" came without its length`);
    }
    const file = await Deno.open(tmp, { write: true, createNew: true });
    try {
      size = await writeStreamExactly(
        file,
        r.Body.transformToWebStream() as ReadableStream<Uint8Array>,
        r.ContentLength,
        path,
      );
    } finally {
      file.close();
    }
    if (r.LastModified) await Deno.utime(tmp, new Date(), r.LastModified);
    await Deno.rename(tmp, target);
  } catch (err) {
    await Deno.remove(tmp).catch(() => {});
    if (err instanceof Deno.errors.NotFound || err instanceof Deno.errors.PermissionDenied) {
      throw new Error(`Cannot write "${target}": ${err.message}`);
    }
    const code = s3ErrorCode(err);
    if (code === "NoSuchVersion" || code === "InvalidArgument") {
      throw new Error(
        `No version "${versionId}" of "${path}" in ${b.display}: see "ferry versions"`,
      );
    }
    if (code === "NoSuchKey") throw new Error(`No file "${path}" in ${b.display}`);
    throw new Error(describeS3Error(err, b.display));
  }
  return { path: target, size };
}
