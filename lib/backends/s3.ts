/**
 * S3 and S3-compatible object storage (AWS, Wasabi, any endpoint). Loaded lazily: only a run
 * that names an `s3://` or `wasabi://` location pays for the AWS SDK.
 *
 * Modification times live in object metadata as `x-amz-meta-mtime`, seconds with a fraction,
 * the key and format rclone uses, so buckets written by either tool are in step for the other.
 * Listings carry no metadata; the state's record of each object (size, ETag, mtime) makes a
 * HEAD per object unnecessary after the first run.
 *
 * @module
 */
import {
  type _Object,
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  type CopyObjectCommandInput,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  type HeadObjectCommandOutput,
  ListMultipartUploadsCommand,
  ListObjectsV2Command,
  type ListObjectsV2CommandOutput,
  PutObjectCommand,
  S3Client,
  type S3ClientConfig,
  UploadPartCommand,
  UploadPartCopyCommand,
} from "@aws-sdk/client-s3";
import type {
  Backend,
  Capabilities,
  Entry,
  Listing,
  ListOptions,
  UploadJournal,
  WriteMeta,
} from "./backend.ts";
import { describeS3Error, isStall, s3ErrorCode } from "./s3_errors.ts";
import { StalledError } from "../errors.ts";
import { checkKey, inScope, isOwnKey, isTempName, joinKey, normaliseScope } from "../paths.ts";
import { loadFilter } from "../scan/filter.ts";
import { runPool } from "../util/pool.ts";
import { readExactly } from "../util/streams.ts";

/** How to reach a bucket. */
export interface S3Options {
  bucket: string;
  /** Key prefix without leading or trailing slashes, `""` for the whole bucket. */
  prefix: string;
  /** Printable location (the user's text). */
  display: string;
  endpoint?: string;
  region?: string;
  profile?: string;
  pathStyle?: boolean;
  /** Replace the HTTP layer (tests with recorded responses). */
  requestHandler?: S3ClientConfig["requestHandler"];
  /** Objects above this size are uploaded in parts (default 8 MiB). */
  multipartThreshold?: number;
  /** Objects above this size are copied server-side in parts (default 5 GiB, the S3 limit). */
  copyPartThreshold?: number;
  /** Size of each part of such a copy (default 512 MiB). */
  copyPartSize?: number;
  /**
   * A request whose connection is silent this long (ms) is abandoned and tried again (default
   * 25 s, which the SDK notices about 3 s late; `FERRY_S3_IDLE_TIMEOUT_MS` in the environment
   * sets it too).
   */
  idleTimeout?: number;
  /**
   * Once the attempts of one request that timed out have taken this long (ms), it is given up
   * with a {@linkcode StalledError} instead of tried again (default 45 s, so a store that stalls
   * is given up within about a minute; `FERRY_S3_STALL_BUDGET_MS` sets it too, for tests).
   */
  stallBudget?: number;
}

/** Attempts of one request that timed out for this long in all: it is given up (ms). */
const STALL_BUDGET_MS = 45_000;

/**
 * Make `client` give up a request once its attempts that timed out have taken `budget` ms in
 * all. The SDK retries a timeout like any transient fault, six times: a store that takes the
 * connection and never answers held each request 6 × 33 s (199 s), and a run that opened it
 * then ended as bad input. Runs inside the retry loop, once per attempt.
 *
 * Once a request is given up, a request that starts within the next `budget` ms fails at once
 * with the same error (requests already under way go on): a listing's HEADs, 16 at a time,
 * would otherwise each wait out the budget in turn, and a run stall for as many minutes.
 */
function giveUpStalls(client: S3Client, display: string, budget: number): void {
  const stalled = new WeakMap<object, { ms: number; tries: number }>();
  let down: { until: number; message: string } | undefined;
  client.middlewareStack.add(
    (next) => async (args) => {
      if (down && Date.now() < down.until) throw new StalledError(down.message);
      const out = await next(args);
      down = undefined;
      return out;
    },
    { step: "initialize", name: "ferryStoreDown" },
  );
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const start = Date.now();
      try {
        return await next(args);
      } catch (err) {
        if (!isStall(err) || err instanceof StalledError) throw err;
        const s = stalled.get(context) ?? { ms: 0, tries: 0 };
        s.ms += Date.now() - start;
        s.tries++;
        stalled.set(context, s);
        if (s.ms < budget) throw err;
        // Not a transient error to the SDK (no cause: the SDK would find the timeout in it),
        // so no more attempts.
        const given = stalledError(display, s.tries, s.ms);
        down = { until: Date.now() + budget, message: given.message };
        throw given;
      }
    },
    { step: "deserialize", priority: "low", name: "ferryGiveUpStalls" },
  );
}

/** The error of a request given up after `tries` attempts that timed out, `ms` in all. */
function stalledError(
  display: string,
  tries: number | undefined,
  ms: number | undefined,
): StalledError {
  const spent = ms === undefined ? "" : ` over ${Math.round(ms / 1000)} s`;
  return new StalledError(
    `The endpoint of "${display}" does not answer (${
      tries === 1 ? "1 try" : `${tries ?? "several"} tries`
    }${spent}): ` +
      `the store or the network is at fault; run again later`,
  );
}

/** Multipart uploads of killed runs older than this are aborted when ferry next runs here. */
const STALE_UPLOAD_MS = 24 * 3600_000;

/** Storage classes whose objects must be restored before they can be read. */
const ARCHIVE_CLASSES = new Set(["GLACIER", "DEEP_ARCHIVE"]);
const MTIME_META = "mtime";
const SHA_META = "sha256";
const PART_SIZE = 8 << 20;
/** Objects up to this size go in one PutObject, read into memory first. */
const SMALL_OBJECT = 8 << 20;
const COPY_PART_SIZE = 512 << 20;

/**
 * Format a time as rclone does for `x-amz-meta-mtime`: whole seconds, a dot, nanoseconds.
 *
 * @param ms Milliseconds since the epoch.
 * @param subNs Nanoseconds within that millisecond (0 to 999,999), when known.
 * @returns Such as `1600000000.123000000`.
 */
export function formatMtime(ms: number, subNs = 0): string {
  const secs = Math.floor(ms / 1000);
  const nanos = Math.round((ms - secs * 1000) * 1e6) + Math.max(0, Math.min(999_999, subNs));
  return `${secs}.${String(nanos).padStart(9, "0")}`;
}

/**
 * Read an `x-amz-meta-mtime` value (any decimal seconds, as rclone and others write it).
 *
 * @param text The metadata value.
 * @returns Milliseconds since the epoch, or undefined when unreadable.
 */
export function parseMtime(text: string | undefined): number | undefined {
  if (!text || !/^\d+(\.\d+)?$/.test(text.trim())) return undefined;
  const [whole, frac = ""] = text.trim().split(".");
  return Number(whole) * 1000 + Math.floor(Number((frac + "000").slice(0, 3)));
}

/**
 * A bucket (and prefix) as a ferry location.
 */
export class S3Backend implements Backend {
  readonly display: string;
  readonly id: string;
  readonly caps: Capabilities = {
    local: false,
    timePrecision: 1,
    caseInsensitive: false,
    inodes: false,
    modTime: "slow",
    dirs: false,
    concurrency: 16,
    transactional: false,
    // The SHA-256 ferry wrote into an object's metadata.
    fast: { storedHash: true },
  };
  /** Content bytes sent in uploads (not server-side copies): tests and benchmarks read it. */
  bytesUploaded = 0;
  readonly client: S3Client;
  readonly bucket: string;
  readonly prefix: string;
  #multipartThreshold: number;
  #partSize: number;
  #copyPartThreshold: number;
  #copyPartSize: number;
  #bigSlots = new Slots(2);
  #journal: UploadJournal | undefined;
  #profile: string | undefined;

  /** @param o Bucket, prefix and how to reach them. */
  constructor(o: S3Options) {
    this.bucket = o.bucket;
    this.prefix = o.prefix.replace(/^\/+|\/+$/g, "");
    this.display = o.display;
    this.id = `s3:${o.endpoint ?? "aws"}/${o.bucket}/${this.prefix}`;
    this.#multipartThreshold = o.multipartThreshold ?? SMALL_OBJECT;
    this.#partSize = Math.max(5 << 20, Math.min(PART_SIZE, this.#multipartThreshold));
    this.#copyPartThreshold = o.copyPartThreshold ?? 5 * 1024 ** 3;
    this.#copyPartSize = o.copyPartSize ?? COPY_PART_SIZE;
    this.#profile = o.profile;
    const config: S3ClientConfig = {
      region: o.region ?? Deno.env.get("AWS_REGION") ?? Deno.env.get("AWS_DEFAULT_REGION") ??
        "us-east-1",
      forcePathStyle: o.pathStyle ?? false,
      maxAttempts: 6,
      // ferry reports errors itself, in one line each.
      logger: { debug() {}, info() {}, warn() {}, error() {} },
      // Third-party stores reject the SDK's newer default checksum trailers.
      requestChecksumCalculation: "WHEN_REQUIRED",
      responseChecksumValidation: "WHEN_REQUIRED",
    };
    if (o.endpoint) config.endpoint = o.endpoint;
    if (o.profile) config.profile = o.profile;
    const envIdle = Number(Deno.env.get("FERRY_S3_IDLE_TIMEOUT_MS") ?? "");
    const idle = o.idleTimeout ?? (envIdle > 0 ? envIdle : 25_000);
    // A stalled or half-open connection is abandoned (and the request retried), never waited
    // on for ever: no connection within 10 s, or a connection silent for `idle` ms.
    config.requestHandler = o.requestHandler ??
      { connectionTimeout: Math.min(10_000, idle), socketTimeout: idle };
    this.client = new S3Client(config);
    const envBudget = Number(Deno.env.get("FERRY_S3_STALL_BUDGET_MS") ?? "");
    giveUpStalls(
      this.client,
      this.display,
      o.stallBudget ?? (envBudget > 0 ? envBudget : STALL_BUDGET_MS),
    );
  }

  /** The object key of a ferry key. */
  objectKey(key: string): string {
    const k = checkKey(key);
    return this.prefix === "" ? k : k === "" ? this.prefix : `${this.prefix}/${k}`;
  }

  /** Whether the bucket can be reached (a prefix always exists; a missing bucket is an error). */
  async open(): Promise<{ exists: boolean }> {
    return { exists: await this.rootExists() };
  }

  async rootExists(): Promise<boolean> {
    try {
      await this.client.send(new HeadBucketCommand({ Bucket: this.bucket }));
      return true;
    } catch (err) {
      // A network fault, not a wrong location: the CLI says so with exit 1, not 2.
      if (isStall(err)) {
        const e = err as { $metadata?: { attempts?: number } };
        throw err instanceof StalledError
          ? err
          : stalledError(this.display, e.$metadata?.attempts, undefined);
      }
      throw new Error(describeS3Error(err, this.display, this.#profile));
    }
  }

  createRoot(): Promise<void> {
    // A prefix needs no creating, and ferry never creates buckets: rootExists() already
    // refused a missing one.
    return Promise.resolve();
  }

  async list(options: ListOptions = {}): Promise<Listing> {
    const skip = await loadFilter(options.exclude ?? []);
    const entries: Entry[] = [];
    const skipped: Listing["skipped"] = [];
    const problems: Listing["problems"] = [];
    const needHead: Entry[] = [];
    const base = this.prefix === "" ? "" : this.prefix + "/";
    // A scoped listing asks for each subtree's prefix (a key that is a file is its own prefix).
    const scope = normaliseScope(options.under);
    const prefixes = scope ? scope.map((u) => base + u) : [base];
    const pages = async function* (b: S3Backend) {
      for (const p of prefixes) yield* b.pages(p);
    };
    for await (const page of pages(this)) {
      for (const o of page) {
        const rel = (o.Key ?? "").slice(base.length);
        if (rel === "" || rel.endsWith("/")) continue; // folder markers
        let key: string;
        try {
          key = checkKey(rel);
        } catch {
          skipped.push({ key: rel, reason: "unsafe object name (refused)" });
          continue;
        }
        if (isTempName(key.slice(key.lastIndexOf("/") + 1)) || isOwnKey(key)) continue;
        if (!inScope(key, scope)) continue; // "a/bc" under the prefix of "a/b"
        if (skip?.(key, false) || [...parents(key)].some((p) => skip?.(p, true))) continue;
        const e = entryOf(key, o);
        const cls = o.StorageClass ?? "STANDARD";
        if (ARCHIVE_CLASSES.has(cls)) {
          const rs = o.RestoreStatus;
          const restored = rs ? !rs.IsRestoreInProgress && !!rs.RestoreExpiryDate : undefined;
          if (restored === false) e.archived = true;
          else if (restored === undefined) needHead.push(e); // the HEAD tells
        } else if (cls === "INTELLIGENT_TIERING") needHead.push(e);
        const known = options.known?.get(key);
        if (known && known.size === e.size && known.stamp !== null && known.stamp === e.stamp) {
          e.mtime = known.mtime;
          delete e.mtimeKind;
        } else if (!needHead.includes(e)) {
          if (options.lazyMeta) e.metaPending = true;
          else needHead.push(e);
        }
        entries.push(e);
      }
    }
    // Objects the state does not know: their mtime (and archive state) is in the metadata.
    problems.push(...await this.fillMeta(needHead));
    // Objects that could not be inspected are problems: nothing is decided about them.
    const bad = new Set(problems.map((p) => p.key));
    return { entries: entries.filter((e) => !bad.has(e.key)), problems, skipped };
  }

  async fillMeta(entries: Entry[]): Promise<Listing["problems"]> {
    const problems: Listing["problems"] = [];
    await runPool(entries, 16, async (e) => {
      try {
        const h = await this.#head(e.key);
        if (h) this.#applyHead(e, h);
        delete e.metaPending;
      } catch (err) {
        problems.push({ key: e.key, message: describeS3Error(err, this.display) });
      }
    });
    return problems;
  }

  /**
   * Every object under the prefix, a page at a time (ListObjectsV2, 1,000 a page), with each
   * archived object's RestoreStatus where the store can give it.
   *
   * @param base The key prefix to list (the location's own by default).
   * @yields The objects of one page.
   */
  async *pages(base = this.prefix === "" ? "" : this.prefix + "/"): AsyncGenerator<_Object[]> {
    let token: string | undefined;
    let restoreStatus = true;
    for (let page = 0; page < 1_000_000; page++) {
      let out: ListObjectsV2CommandOutput;
      try {
        out = await this.client.send(
          new ListObjectsV2Command({
            Bucket: this.bucket,
            Prefix: base,
            ContinuationToken: token,
            ...(restoreStatus ? { OptionalObjectAttributes: ["RestoreStatus"] } : {}),
          }),
        );
      } catch (err) {
        // Stores that do not know the optional attribute refuse it: list without it.
        if (
          restoreStatus && page === 0 && /InvalidArgument|NotImplemented/.test(s3ErrorCode(err))
        ) {
          restoreStatus = false;
          page--;
          continue;
        }
        throw new Error(describeS3Error(err, this.display));
      }
      yield out.Contents ?? [];
      if (!out.IsTruncated || !out.NextContinuationToken) return;
      token = out.NextContinuationToken;
    }
  }

  #applyHead(e: Entry, h: HeadObjectCommandOutput): void {
    const m = parseMtime(h.Metadata?.[MTIME_META]);
    if (m !== undefined) {
      e.mtime = m;
      delete e.mtimeKind;
    }
    const sha = h.Metadata?.[SHA_META];
    if (sha && /^[0-9a-f]{64}$/.test(sha)) e.sha256 = sha;
    const cls = h.StorageClass ?? "STANDARD";
    const restore = h.Restore ?? "";
    const restored = /ongoing-request="false"/.test(restore);
    if (ARCHIVE_CLASSES.has(cls) && !restored) e.archived = true;
    else if (
      (h.ArchiveStatus === "ARCHIVE_ACCESS" || h.ArchiveStatus === "DEEP_ARCHIVE_ACCESS") &&
      !restored
    ) e.archived = true;
    else delete e.archived;
  }

  async #head(key: string): Promise<HeadObjectCommandOutput | undefined> {
    try {
      return await this.client.send(
        new HeadObjectCommand({ Bucket: this.bucket, Key: this.objectKey(key) }),
      );
    } catch (err) {
      const code = s3ErrorCode(err);
      if (code === "NotFound" || code === "NoSuchKey" || code === "404") return undefined;
      throw err;
    }
  }

  async stat(key: string): Promise<Entry | undefined> {
    const h = await this.#head(key);
    if (!h) return undefined;
    const e: Entry = {
      key: checkKey(key),
      kind: "file",
      size: h.ContentLength ?? 0,
      mtime: h.LastModified?.getTime() ?? 0,
      mtimeKind: "upload",
    };
    if (h.ETag) e.stamp = h.ETag;
    this.#applyHead(e, h);
    return e;
  }

  async storedHash(key: string): Promise<string | undefined> {
    return (await this.stat(key))?.sha256;
  }

  /** The object's content; a body that ends short of its length fails (it is never whole). */
  async read(key: string): Promise<ReadableStream<Uint8Array>> {
    const out = await this.client.send(
      new GetObjectCommand({ Bucket: this.bucket, Key: this.objectKey(key) }),
    );
    if (!out.Body) throw new Error(`Object "${key}" has no body`);
    const body = out.Body.transformToWebStream() as ReadableStream<Uint8Array>;
    const length = out.ContentLength;
    if (length === undefined) return body;
    let got = 0;
    return body.pipeThrough(
      new TransformStream<Uint8Array, Uint8Array>({
        transform(chunk, c) {
          got += chunk.byteLength;
          c.enqueue(chunk);
        },
        flush(c) {
          if (got !== length) {
            c.error(
              new Error(`the download of "${key}" was cut short (${got} of ${length} bytes)`),
            );
          }
        },
      }),
    );
  }

  async write(key: string, data: ReadableStream<Uint8Array>, meta: WriteMeta): Promise<Entry> {
    const Key = this.objectKey(key);
    const Metadata: Record<string, string> = {
      [MTIME_META]: formatMtime(meta.mtime, meta.mtimeNs),
    };
    if (meta.sha256) Metadata[SHA_META] = meta.sha256;
    let etag: string | undefined;
    if (meta.size <= this.#multipartThreshold) {
      // Small objects are read whole first: a failing source fails before anything is sent,
      // and the object appears only when all of it has arrived.
      const bytes = await readExactly(data, meta.size, key);
      const out = await this.client.send(
        new PutObjectCommand({
          Bucket: this.bucket,
          Key,
          Body: bytes,
          ContentLength: bytes.length,
          Metadata,
        }),
      );
      etag = out.ETag;
    } else {
      // Parts in parallel; on failure the upload is aborted, so no parts are left billing.
      // At most two large uploads of three parts in flight each: memory stays bounded (about
      // 48 MiB of parts) whatever the sizes.
      await this.#bigSlots.acquire();
      try {
        etag = await this.#multipart(key, Key, data, meta.size, Metadata);
      } finally {
        this.#bigSlots.release();
      }
    }
    this.bytesUploaded += meta.size;
    const e: Entry = { key: checkKey(key), kind: "file", size: meta.size, mtime: meta.mtime };
    if (etag) e.stamp = etag;
    if (meta.sha256) e.sha256 = meta.sha256;
    return e;
  }

  /**
   * Upload in parts. The source must deliver exactly `size` bytes: a source that grows or
   * shrinks fails before the upload is completed, so the upload is aborted and the object that
   * was there stays as it was. Each upload is written to the journal while it is open, so a
   * run killed mid-upload has it aborted by the next run.
   */
  async #multipart(
    key: string,
    Key: string,
    data: ReadableStream<Uint8Array>,
    size: number,
    Metadata: Record<string, string>,
  ): Promise<string | undefined> {
    const created = await this.client.send(
      new CreateMultipartUploadCommand({ Bucket: this.bucket, Key, Metadata }),
    );
    const UploadId = created.UploadId!;
    this.#journal?.add(this.id, Key, UploadId);
    const reader = data.getReader();
    const inFlight = new Set<Promise<unknown>>();
    try {
      const parts: { PartNumber: number; ETag: string }[] = [];
      let sent = 0;
      const cut = new PartCutter(reader, this.#partSize);
      for (let n = 1;; n++) {
        const body = await cut.next();
        if (!body) break;
        sent += body.byteLength;
        if (sent > size) {
          throw new Error(`"${key}" grew while it was uploaded; the object was left as it was`);
        }
        const part = this.client.send(
          new UploadPartCommand({
            Bucket: this.bucket,
            Key,
            UploadId,
            PartNumber: n,
            Body: body,
            ContentLength: body.byteLength,
          }),
        ).then((out) => parts.push({ PartNumber: n, ETag: out.ETag ?? "" }));
        inFlight.add(part);
        part.catch(() => {}).finally(() => inFlight.delete(part));
        if (inFlight.size >= 3) await Promise.race(inFlight);
      }
      await Promise.all(inFlight);
      if (sent !== size) {
        throw new Error(
          `"${key}" shrank while it was uploaded (${sent} of ${size} bytes); the object was left as it was`,
        );
      }
      parts.sort((a, b) => a.PartNumber - b.PartNumber);
      const out = await this.client.send(
        new CompleteMultipartUploadCommand({
          Bucket: this.bucket,
          Key,
          UploadId,
          MultipartUpload: { Parts: parts },
        }),
      );
      this.#journal?.remove(this.id, UploadId);
      return out.ETag;
    } catch (err) {
      reader.cancel().catch(() => {});
      await Promise.allSettled(inFlight);
      try {
        await this.client.send(
          new AbortMultipartUploadCommand({ Bucket: this.bucket, Key, UploadId }),
        );
        this.#journal?.remove(this.id, UploadId);
      } catch { /* kept in the journal: the next run aborts it */ }
      throw err;
    }
  }

  /**
   * Keep open multipart uploads in `journal`, and abort those a killed run left: the ones it
   * names, and any upload under this prefix started more than a day ago (no upload of a live
   * run is that old; a lifecycle rule on the bucket does the same for every prefix).
   *
   * @param journal Where open uploads are written down (the state database).
   * @returns How many uploads were aborted.
   */
  async recoverUploads(journal: UploadJournal): Promise<number> {
    this.#journal = journal;
    let aborted = 0;
    const abort = async (Key: string, UploadId: string) => {
      try {
        await this.client.send(
          new AbortMultipartUploadCommand({ Bucket: this.bucket, Key, UploadId }),
        );
        aborted++;
      } catch (err) {
        if (!/NoSuchUpload|404/.test(s3ErrorCode(err))) throw err;
      }
      journal.remove(this.id, UploadId);
    };
    for (const u of journal.list(this.id)) await abort(u.key, u.id).catch(() => {});
    try {
      const base = this.prefix === "" ? "" : this.prefix + "/";
      const out = await this.client.send(
        new ListMultipartUploadsCommand({ Bucket: this.bucket, Prefix: base }),
      );
      const cutoff = Date.now() - STALE_UPLOAD_MS;
      for (const u of out.Uploads ?? []) {
        if (u.Key && u.UploadId && u.Initiated && u.Initiated.getTime() < cutoff) {
          await abort(u.Key, u.UploadId).catch(() => {});
        }
      }
    } catch { /* a store without the listing: the journal is what we have */ }
    return aborted;
  }

  async remove(key: string): Promise<void> {
    await this.client.send(
      new DeleteObjectCommand({ Bucket: this.bucket, Key: this.objectKey(key) }),
    );
  }

  mkdir(): Promise<void> {
    return Promise.resolve(); // folders are only key prefixes here
  }

  rmdir(): Promise<void> {
    return Promise.resolve();
  }

  /**
   * Rename in place: CopyObject (UploadPartCopy above 5 GiB) then DeleteObject. A key with
   * objects below it moves as a folder, many objects at once. No content passes through ferry.
   */
  async move(from: string, to: string): Promise<void> {
    if (await this.#head(to)) throw new Deno.errors.AlreadyExists(`"${to}" already exists`);
    const h = await this.#head(from);
    if (h) {
      await this.#moveObject(from, to, h);
      return;
    }
    const below: string[] = [];
    const base = this.objectKey(from) + "/";
    let token: string | undefined;
    do {
      const out = await this.client.send(
        new ListObjectsV2Command({ Bucket: this.bucket, Prefix: base, ContinuationToken: token }),
      );
      for (const o of out.Contents ?? []) if (o.Key) below.push(o.Key.slice(base.length));
      token = out.IsTruncated ? out.NextContinuationToken : undefined;
    } while (token);
    if (below.length === 0) throw new Deno.errors.NotFound(`No such object or folder "${from}"`);
    const failures: string[] = [];
    await runPool(below, 16, async (rel) => {
      try {
        const src = joinKey(from, rel);
        const head = await this.#head(src);
        if (head) await this.#moveObject(src, joinKey(to, rel), head);
      } catch (err) {
        failures.push(`${rel}: ${describeS3Error(err, this.display)}`);
      }
    });
    if (failures.length) {
      throw new Error(`Folder move left ${failures.length} object(s): ${failures[0]}`);
    }
  }

  // Always the whole listing, also where only the top names are asked for: s3rver's delimited
  // listing left runs out (tried), and one page holds 1,000 kept versions.
  async listOwn(folder: string): Promise<Entry[]> {
    const base = this.prefix === "" ? "" : this.prefix + "/";
    const out: Entry[] = [];
    for await (const page of this.pages(base + checkKey(folder) + "/")) {
      for (const o of page) {
        const key = (o.Key ?? "").slice(base.length);
        if (!key.endsWith("/")) out.push(entryOf(key, o));
      }
    }
    return out;
  }

  /** A key as a copy's `CopySource`: the bucket and the object key, each segment encoded. */
  #copySource(key: string): string {
    return `${this.bucket}/${this.objectKey(key).split("/").map(encodeURIComponent).join("/")}`;
  }

  /**
   * The trash's copy: one CopyObject (metadata and content headers kept), no HEAD before or
   * after, since the key it copies to is new. Storage class and encryption are then the
   * bucket's defaults; an object past the single-copy limit is copied in parts as `copy` does.
   */
  async keep(from: string, to: string, size: number): Promise<void> {
    if (size > this.#copyPartThreshold) {
      const h = await this.#head(from);
      if (!h) throw new Deno.errors.NotFound(`No such object "${from}"`);
      await this.copyObject(from, to, h);
      return;
    }
    await this.client.send(
      new CopyObjectCommand({
        Bucket: this.bucket,
        Key: this.objectKey(to),
        CopySource: this.#copySource(from),
        MetadataDirective: "COPY",
      }),
    );
  }

  /** A server-side copy (CopyObject): no content passes through ferry. */
  async copy(from: string, to: string): Promise<Entry> {
    const h = await this.#head(from);
    if (!h) throw new Deno.errors.NotFound(`No such object "${from}"`);
    await this.copyObject(from, to, h);
    const e = await this.stat(to);
    if (!e) throw new Error(`"${to}" is missing after the copy`);
    return e;
  }

  /**
   * Set the stored modification time: the object is copied onto itself with its metadata
   * replaced (the content stays on the server; storage class, encryption and content headers
   * are kept). Objects above 5 GiB cannot be copied in one request: refused, and the engine
   * writes them again.
   */
  async setModTime(key: string, mtime: number): Promise<Entry> {
    const h = await this.#head(key);
    if (!h) throw new Deno.errors.NotFound(`No such object "${key}"`);
    if ((h.ContentLength ?? 0) > this.#copyPartThreshold) {
      throw new Error(`"${key}" is too large to retime in place`);
    }
    const source = this.#copySource(key);
    await this.client.send(
      new CopyObjectCommand({
        Bucket: this.bucket,
        Key: this.objectKey(key),
        CopySource: source,
        MetadataDirective: "REPLACE",
        Metadata: { ...(h.Metadata ?? {}), [MTIME_META]: formatMtime(mtime) },
        ...(h.ContentType ? { ContentType: h.ContentType } : {}),
        ...(h.ContentEncoding ? { ContentEncoding: h.ContentEncoding } : {}),
        ...(h.ContentDisposition ? { ContentDisposition: h.ContentDisposition } : {}),
        ...(h.ContentLanguage ? { ContentLanguage: h.ContentLanguage } : {}),
        ...(h.CacheControl ? { CacheControl: h.CacheControl } : {}),
        ...(h.StorageClass && h.StorageClass !== "STANDARD"
          ? { StorageClass: h.StorageClass }
          : {}),
        ...(h.ServerSideEncryption ? { ServerSideEncryption: h.ServerSideEncryption } : {}),
        ...(h.SSEKMSKeyId ? { SSEKMSKeyId: h.SSEKMSKeyId } : {}),
      }),
    );
    const e = await this.stat(key);
    if (!e) throw new Error(`"${key}" is missing after it was retimed`);
    return e;
  }

  /** Copy then delete, keeping storage class, encryption, metadata and content headers. */
  async #moveObject(from: string, to: string, h: HeadObjectCommandOutput): Promise<void> {
    await this.copyObject(from, to, h);
    await this.remove(from);
  }

  /**
   * Server-side copy that keeps what rclone lost (rclone issues 2610 and 5243): the storage
   * class, server-side encryption and content headers come from the source's HEAD.
   *
   * @param from Source key.
   * @param to Destination key.
   * @param h The source's HEAD.
   */
  async copyObject(from: string, to: string, h: HeadObjectCommandOutput): Promise<void> {
    const source = this.#copySource(from);
    const keep = {
      ...(h.StorageClass && h.StorageClass !== "STANDARD" ? { StorageClass: h.StorageClass } : {}),
      ...(h.ServerSideEncryption ? { ServerSideEncryption: h.ServerSideEncryption } : {}),
      ...(h.SSEKMSKeyId ? { SSEKMSKeyId: h.SSEKMSKeyId } : {}),
      ...(h.BucketKeyEnabled !== undefined ? { BucketKeyEnabled: h.BucketKeyEnabled } : {}),
    };
    const size = h.ContentLength ?? 0;
    if (size <= this.#copyPartThreshold) {
      const input: CopyObjectCommandInput = {
        Bucket: this.bucket,
        Key: this.objectKey(to),
        CopySource: source,
        MetadataDirective: "COPY",
        ...keep,
      };
      await this.client.send(new CopyObjectCommand(input));
      return;
    }
    // Above 5 GiB CopyObject is refused: copy in parts, with the headers set on creation.
    const created = await this.client.send(
      new CreateMultipartUploadCommand({
        Bucket: this.bucket,
        Key: this.objectKey(to),
        ...(h.Metadata ? { Metadata: h.Metadata } : {}),
        ...(h.ContentType ? { ContentType: h.ContentType } : {}),
        ...(h.ContentEncoding ? { ContentEncoding: h.ContentEncoding } : {}),
        ...(h.ContentDisposition ? { ContentDisposition: h.ContentDisposition } : {}),
        ...(h.ContentLanguage ? { ContentLanguage: h.ContentLanguage } : {}),
        ...(h.CacheControl ? { CacheControl: h.CacheControl } : {}),
        ...keep,
      }),
    );
    const uploadId = created.UploadId!;
    try {
      const ranges: { n: number; start: number; end: number }[] = [];
      const step = this.#copyPartSize;
      for (let start = 0, n = 1; start < size; start += step, n++) {
        ranges.push({ n, start, end: Math.min(size, start + step) - 1 });
      }
      const parts: { PartNumber: number; ETag: string }[] = [];
      await runPool(ranges, 8, async (r) => {
        const out = await this.client.send(
          new UploadPartCopyCommand({
            Bucket: this.bucket,
            Key: this.objectKey(to),
            UploadId: uploadId,
            PartNumber: r.n,
            CopySource: source,
            CopySourceRange: `bytes=${r.start}-${r.end}`,
          }),
        );
        parts.push({ PartNumber: r.n, ETag: out.CopyPartResult?.ETag ?? "" });
      });
      parts.sort((a, b) => a.PartNumber - b.PartNumber);
      await this.client.send(
        new CompleteMultipartUploadCommand({
          Bucket: this.bucket,
          Key: this.objectKey(to),
          UploadId: uploadId,
          MultipartUpload: { Parts: parts },
        }),
      );
    } catch (err) {
      await this.client.send(
        new AbortMultipartUploadCommand({
          Bucket: this.bucket,
          Key: this.objectKey(to),
          UploadId: uploadId,
        }),
      ).catch(() => {});
      throw err;
    }
  }

  close(): Promise<void> {
    this.client.destroy();
    return Promise.resolve();
  }
}

/** Cuts a stream into parts of one size (the last may be shorter). */
class PartCutter {
  #reader: ReadableStreamDefaultReader<Uint8Array>;
  #size: number;
  #rest: Uint8Array | undefined;
  #done = false;
  constructor(reader: ReadableStreamDefaultReader<Uint8Array>, size: number) {
    this.#reader = reader;
    this.#size = size;
  }
  /** The next part, or undefined at the end. */
  async next(): Promise<Uint8Array | undefined> {
    const part = new Uint8Array(this.#size);
    let got = 0;
    while (got < this.#size) {
      let chunk = this.#rest;
      this.#rest = undefined;
      if (!chunk) {
        if (this.#done) break;
        const r = await this.#reader.read();
        if (r.done) {
          this.#done = true;
          break;
        }
        chunk = r.value;
      }
      const take = Math.min(chunk.byteLength, this.#size - got);
      part.set(chunk.subarray(0, take), got);
      got += take;
      if (take < chunk.byteLength) this.#rest = chunk.subarray(take);
    }
    return got === 0 ? undefined : part.subarray(0, got);
  }
}

/** A counting semaphore; a request larger than the whole capacity is let through alone. */
class Slots {
  #capacity: number;
  #free: number;
  #waiting: { n: number; go: () => void }[] = [];
  constructor(n: number) {
    this.#capacity = n;
    this.#free = n;
  }
  acquire(n = 1): Promise<void> {
    const want = Math.min(n, this.#capacity);
    if (this.#waiting.length === 0 && this.#free >= want) {
      this.#free -= want;
      return Promise.resolve();
    }
    return new Promise((go) => this.#waiting.push({ n: want, go }));
  }
  release(n = 1): void {
    this.#free += Math.min(n, this.#capacity);
    while (this.#waiting.length > 0 && this.#free >= this.#waiting[0]!.n) {
      const w = this.#waiting.shift()!;
      this.#free -= w.n;
      w.go();
    }
  }
}

function* parents(key: string): Generator<string> {
  for (let i = key.indexOf("/"); i >= 0; i = key.indexOf("/", i + 1)) yield key.slice(0, i);
}

/**
 * A listed object as an entry: its size, its upload time (the time it was written, until the
 * metadata tells the file's own) and its ETag as the version's stamp.
 */
function entryOf(key: string, o: _Object): Entry {
  const e: Entry = {
    key,
    kind: "file",
    size: o.Size ?? 0,
    mtime: o.LastModified?.getTime() ?? 0,
    mtimeKind: "upload",
  };
  if (o.ETag) e.stamp = o.ETag;
  return e;
}
