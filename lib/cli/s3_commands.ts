/**
 * The CLI side of `restore`, `restore-status`, `versioning`, `versions` and `get`.
 *
 * @module
 */
import { lazyImport } from "../lazy.ts";
import type { S3Backend } from "../backends/s3.ts";
import { openLocation } from "../backends/open.ts";
import { describeError, ExitCode, LocationError, UsageError } from "../errors.ts";
import { parseLocation } from "../location.ts";
import type { S3ToolArgs } from "./args.ts";
import { formatBytes } from "./output.ts";

const enc = new TextEncoder();

/**
 * Run one of the S3 tool commands.
 *
 * @param a Parsed arguments.
 * @returns The exit code.
 */
export async function runS3Tool(a: S3ToolArgs): Promise<number> {
  const loc = parseLocation(a.location);
  if (loc.kind !== "s3" && loc.kind !== "wasabi") {
    throw new UsageError(
      `"ferry ${a.command}" takes an s3:// or wasabi:// location, not "${loc.text}"`,
    );
  }
  // Loaded lazily: the AWS SDK is fetched only when used (lib/lazy.ts).
  const tools = await lazyImport<typeof import("../s3_tools.ts")>("lib/s3_tools.ts");
  const b = (await openLocation(loc, {
    ...(a.endpoint !== undefined ? { endpoint: a.endpoint } : {}),
    ...(a.region !== undefined ? { region: a.region } : {}),
    ...(a.profile !== undefined ? { profile: a.profile } : {}),
    ...(a.pathStyle ? { pathStyle: true } : {}),
  })) as S3Backend;
  const line = (text: string) => {
    if (!a.json && !a.quiet) Deno.stdout.writeSync(enc.encode(text + "\n"));
  };
  const json = (obj: unknown) => {
    if (a.json) Deno.stdout.writeSync(enc.encode(JSON.stringify(obj) + "\n"));
  };
  try {
    try {
      await b.rootExists();
    } catch (err) {
      throw new LocationError(`Cannot open location "${loc.text}": ${describeError(err)}`);
    }
    switch (a.command) {
      case "restore": {
        const r = await tools.restoreArchived(b, { tier: a.tier, days: a.days });
        for (const k of r.requested) {
          json({ event: "restore", path: k, tier: a.tier, days: a.days });
          if (a.verbose) line(`restore requested: ${k}`);
        }
        for (const f of r.failed) {
          json({ event: "fail", path: f.key, error: f.error });
          Deno.stderr.writeSync(enc.encode(`failed: ${f.key}: ${f.error}\n`));
        }
        json({
          event: "summary",
          requested: r.requested.length,
          restoring: r.alreadyRestoring.length,
          restored: r.alreadyRestored.length,
          failed: r.failed.length,
        });
        line(
          `Restore asked for ${r.requested.length} object(s) (${a.tier.toLowerCase()} tier, ${a.days} day(s)); ` +
            `${r.alreadyRestoring.length} already restoring, ${r.alreadyRestored.length} already restored, ` +
            `${r.failed.length} failed. Check with "ferry restore-status ${loc.text}".`,
        );
        return r.failed.length ? ExitCode.someFailed : ExitCode.ok;
      }
      case "restore-status": {
        const objs = await tools.listArchived(b);
        const count = { archived: 0, restoring: 0, restored: 0 };
        for (const o of objs) {
          count[o.state]++;
          json({
            event: "object",
            path: o.key,
            storageClass: o.storageClass,
            state: o.state,
            expiry: o.expiry,
          });
          line(
            `${o.state.padEnd(9)}  ${o.storageClass.padEnd(12)}  ${
              o.expiry ? `until ${o.expiry}  ` : ""
            }${o.key}`,
          );
        }
        json({ event: "summary", ...count });
        line(
          objs.length === 0
            ? `No archived objects in ${loc.text}.`
            : `${count.restored} restored, ${count.restoring} restoring, ${count.archived} archived (not asked for).`,
        );
        return ExitCode.ok;
      }
      case "versioning": {
        if (a.set !== undefined) await tools.setVersioning(b, a.set);
        const status = await tools.getVersioning(b);
        json({ event: "versioning", bucket: b.bucket, status });
        line(`Versioning of bucket "${b.bucket}": ${status}`);
        return ExitCode.ok;
      }
      case "versions": {
        const vs = await tools.listVersions(b, a.path);
        for (const v of vs) {
          json({ event: "version", path: a.path, ...v });
          line(
            `${v.versionId}  ${v.lastModified}  ${
              v.deleted ? "(deleted)".padStart(10) : formatBytes(v.size).padStart(10)
            }` +
              `${v.latest ? "  latest" : ""}`,
          );
        }
        if (vs.length === 0) line(`No versions of "${a.path}" in ${loc.text}.`);
        return ExitCode.ok;
      }
      case "get": {
        const r = await tools.getVersion(b, a.path, a.versionId, a.output);
        json({ event: "get", path: a.path, versionId: a.versionId, output: r.path, bytes: r.size });
        line(
          `Wrote ${r.path} (${formatBytes(r.size)}) from version ${a.versionId} of "${a.path}".`,
        );
        return ExitCode.ok;
      }
    }
  } catch (err) {
    if (err instanceof UsageError) throw err;
    throw new UsageError(describeError(err), { cause: err });
  } finally {
    await b.close();
  }
}
