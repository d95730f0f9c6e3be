/**
 * S3 and S3-compatible stores: `s3://bucket[/prefix]` and `wasabi://bucket[/prefix]`. The AWS
 * SDK loads on first use only, so that `ferry --help` and local syncs never fetch it.
 *
 * @module
 */
import type { BackendKind } from "../kind.ts";
import type { Location } from "../../location.ts";
import { UsageError } from "../../errors.ts";
import { lazyImport } from "../../lazy.ts";
import { maskBody, maskUnparsed } from "../../location.ts";
import { addSecret, redact, userInfoEnd } from "../../secrets.ts";
import { comparePaths } from "../local/same_place.ts";

type S3Location = Extract<Location, { kind: "s3" | "wasabi" }>;

/**
 * The endpoint of a Wasabi region.
 *
 * @param region A Wasabi region such as `eu-central-1`.
 * @returns Its S3 endpoint URL.
 */
export function wasabiEndpoint(region: string): string {
  return `https://s3.${region}.wasabisys.com`;
}

/**
 * Refuse an `--endpoint` that is not an http(s) URL with a valid port, or that holds
 * credentials (keys come from the AWS chain only, and would end up in messages and state).
 *
 * @param endpoint The user's `--endpoint`.
 * @throws {UsageError} With one line saying what to write instead.
 */
export function checkEndpoint(endpoint: string): void {
  const shown = redact(endpoint);
  let url: URL | undefined;
  try {
    url = new URL(endpoint);
  } catch { /* reported below */ }
  if (!url || !/^https?:$/.test(url.protocol) || url.hostname === "") {
    const port = /:(\d+)/.exec(endpoint.replace(/^https?:\/\//, ""))?.[1];
    throw new UsageError(
      port !== undefined && Number(port) > 65535
        ? `--endpoint "${shown}" has port ${port}: a port is 1 to 65535`
        : `--endpoint "${shown}" is not a URL: write it like https://s3.example.com`,
    );
  }
  if (url.username || url.password) {
    addSecret(decodeURIComponent(url.password));
    addSecret(url.password);
    throw new UsageError(
      `--endpoint "${
        redact(endpoint)
      }" holds credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or use --profile`,
    );
  }
}

function parseS3(scheme: string, rest: string, text: string): S3Location {
  const shown = maskUnparsed(text);
  const authority = /^\/\/([^/]*)/.exec(rest)?.[1] ?? "";
  if (rest.startsWith("//") && (userInfoEnd(rest.slice(2)) >= 0 || authority.includes("@"))) {
    throw new UsageError(
      `Location "${shown}" holds credentials: S3 keys never go in a location; set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or use --profile`,
    );
  }
  const u = /^\/\/([^/]+)(?:\/(.*))?$/s.exec(rest);
  if (!u) {
    throw new UsageError(`Location "${shown}" is malformed: write ${scheme}://bucket[/prefix]`);
  }
  const bucket = u[1]!;
  // S3's rule, loosened for older and compatible stores (capitals and underscores).
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]{1,253}[A-Za-z0-9]$/.test(bucket)) {
    throw new UsageError(
      `Location "${shown}" names no valid bucket ("${
        maskBody(bucket, true)
      }"): a bucket name is 3 to 63 letters, digits, dots and hyphens`,
    );
  }
  const prefix = (u[2] ?? "").replace(/\/+$/, "").replace(/^\/+/, "");
  return { kind: scheme === "wasabi" ? "wasabi" : "s3", bucket, prefix, text };
}

/** Which store a bucket lives in: Wasabi, the endpoint given, or AWS. */
const storeOf = (l: S3Location, endpoint: string | undefined) =>
  l.kind === "wasabi" ? "wasabi" : endpoint ?? "aws";

/** S3 buckets, on AWS, Wasabi or any S3-compatible endpoint. */
export const s3: BackendKind<S3Location> = {
  name: "s3",
  schemes: ["s3", "wasabi"],
  locations: ["s3", "wasabi"],
  spellings: ["s3://", "wasabi://"],
  parse: parseS3,
  flags: [
    {
      name: "endpoint",
      type: "string",
      usage: "--endpoint <url>",
      help: "any S3-compatible endpoint (default: AWS; Wasabi's from the region)",
      key: "endpoint",
    },
    {
      name: "region",
      type: "string",
      usage: "--region <name>",
      help: "the bucket's region (default: AWS_REGION, else us-east-1)",
      key: "region",
    },
    {
      name: "profile",
      type: "string",
      usage: "--profile <name>",
      help: "a profile of ~/.aws/credentials and ~/.aws/config",
      key: "profile",
    },
    {
      name: "path-style",
      type: "boolean",
      usage: "--path-style",
      help: "address buckets as <endpoint>/<bucket> (MinIO, s3rver, some NAS)",
      key: "pathStyle",
    },
  ],
  help: {
    title: "S3 options (s3:// and wasabi:// locations):",
    note:
      "Credentials come from the AWS chain: AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, then profiles.",
    // The most used remote: its options come first.
    rank: 0,
  },
  compare: (a, b, options) =>
    storeOf(a, options.endpoint) === storeOf(b, options.endpoint) && a.bucket === b.bucket
      ? comparePaths(a.prefix, b.prefix)
      : "apart",
  lazy: ["lib/backends/s3.ts", "lib/s3_tools.ts"],
  open: async (loc, options) => {
    const { S3Backend } = await lazyImport<typeof import("../s3.ts")>("lib/backends/s3.ts");
    const region = options.region ?? (loc.kind === "wasabi" ? "us-east-1" : undefined);
    const endpoint = options.endpoint ??
      (loc.kind === "wasabi" ? wasabiEndpoint(region!) : undefined);
    if (endpoint !== undefined) checkEndpoint(endpoint);
    return new S3Backend({
      bucket: loc.bucket,
      prefix: loc.prefix,
      display: loc.text,
      ...(endpoint !== undefined ? { endpoint } : {}),
      ...(region !== undefined ? { region } : {}),
      ...(options.profile !== undefined ? { profile: options.profile } : {}),
      ...(options.pathStyle ? { pathStyle: true } : {}),
    });
  },
};
