/**
 * Location strings as users write them (PRODUCT.md, "Locations"), parsed into data. Remote
 * locations always print with the password masked.
 *
 * @module
 */
import { UsageError } from "./errors.ts";
import { addSecret, redact, userInfoEnd } from "./secrets.ts";

/** A parsed location. */
export type Location =
  | { kind: "local"; path: string; text: string }
  | { kind: "zip"; path: string; text: string }
  | {
    kind: "ftp" | "ftps";
    host: string;
    port: number;
    user: string;
    password?: string;
    path: string;
    text: string;
  }
  | { kind: "s3" | "wasabi"; bucket: string; prefix: string; text: string };

/**
 * Parse a location string.
 *
 * @param text What the user wrote.
 * @returns The location; `text` is safe to print (password masked).
 * @throws {UsageError} When the string is empty or of an unknown or malformed kind.
 * @example Local folders and a masked FTP URL
 * ```ts
 * import assert from "node:assert/strict";
 * assert.deepEqual(parseLocation("folder:/data").kind, "local");
 * assert.deepEqual(parseLocation("ftp://me:secret@host/dir").text, "ftp://me:***@host/dir");
 * ```
 */
export function parseLocation(text: string): Location {
  if (text.trim() === "") {
    throw new UsageError("Empty location: give a folder, zip:, ftp:// or s3:// location");
  }
  if (/^[A-Za-z]:[\\/]/.test(text) || /^\\\\/.test(text)) {
    return { kind: "local", path: text, text };
  }
  // Schemes are case-insensitive (RFC 3986): FTP:// is ftp://, never a folder of that name.
  const m = /^([A-Za-z][A-Za-z0-9+.-]+):(.*)$/s.exec(text);
  if (!m) return { kind: "local", path: text, text };
  const [, spelled, rest] = m as unknown as [string, string, string];
  const scheme = spelled.toLowerCase();
  switch (scheme) {
    case "folder":
      return { kind: "local", path: rest, text };
    case "file":
      return { kind: "local", path: fileUrlPath(text), text };
    case "zip":
      if (rest === "") {
        throw new UsageError(`Location "${text}" names no archive: write zip:path/archive.zip`);
      }
      return { kind: "zip", path: rest, text };
    case "ftp":
    case "ftps":
      return parseFtp(scheme, rest, text);
    case "s3":
    case "wasabi": {
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
      return { kind: scheme, bucket, prefix, text };
    }
    default:
      if (scheme.length === 1) return { kind: "local", path: text, text }; // a drive: C:dir
      throw new UsageError(
        `Unknown location kind "${spelled}:" in "${
          maskUnparsed(text)
        }": use a folder, zip:, ftp://, ftps://, s3:// or wasabi://`,
      );
  }
}

function fileUrlPath(text: string): string {
  try {
    const u = new URL(text);
    const p = decodeURIComponent(u.pathname);
    return Deno.build.os === "windows" && /^\/[A-Za-z]:/.test(p) ? p.slice(1) : p;
  } catch {
    throw new UsageError(`Location "${maskUnparsed(text)}" is not a valid file:// URL`);
  }
}

function parseFtp(scheme: "ftp" | "ftps", rest: string, text: string): Location {
  const old = !rest.startsWith("//");
  const body = old ? rest : rest.slice(2);
  // A password may hold "/" and "@": the user-info ends at the "@" that a host follows.
  const at = userInfoEnd(body);
  if (old && at < 0) {
    throw new UsageError(
      `Location "${maskUnparsed(text)}" is malformed: write ${scheme}://user@host/path`,
    );
  }
  const userinfo = at < 0 ? "" : body.slice(0, at);
  const hostPath = at < 0 ? body : body.slice(at + 1);
  const slash = hostPath.indexOf("/");
  const hostPort = slash < 0 ? hostPath : hostPath.slice(0, slash);
  const path = slash < 0 ? "/" : hostPath.slice(slash);
  const hp = /^(\[[^\]]+\]|[^:]+)(?::(.*))?$/.exec(hostPort);
  // A "port" that is no number may be a password with no host after it: never quoted.
  if (!hp || (hp[2] !== undefined && !/^\d+$/.test(hp[2]))) {
    throw new UsageError(`Location "${maskUnparsed(text)}" has no valid host`);
  }
  if (hp[2] !== undefined && !(+hp[2] >= 1 && +hp[2] <= 65535)) {
    throw new UsageError(
      `Location "${maskUnparsed(text)}" has an invalid port "${
        hp[2]
      }": a port is a number from 1 to 65535`,
    );
  }
  const colon = userinfo.indexOf(":");
  const dec = (s: string) => {
    if (old) return s;
    try {
      return decodeURIComponent(s);
    } catch {
      return s;
    }
  };
  const user = dec(colon < 0 ? userinfo : userinfo.slice(0, colon)) || "anonymous";
  let decodedPath = path;
  try {
    decodedPath = decodeURIComponent(path);
  } catch {
    throw new UsageError(
      `Location "${maskUnparsed(text)}" has a malformed path (a stray "%")`,
    );
  }
  const loc: Location = {
    kind: scheme,
    host: hp[1]!,
    port: hp[2] ? Number(hp[2]) : 21,
    user,
    path: decodedPath,
    text: mask(text),
  };
  if (colon >= 0) {
    loc.password = dec(userinfo.slice(colon + 1));
    addSecret(loc.password);
    addSecret(userinfo.slice(colon + 1));
  }
  return loc;
}

/**
 * Mask the password in a location string or URL.
 *
 * @param text A location string.
 * @returns The same with any password replaced by `***`.
 */
export function mask(text: string): string {
  return redact(text);
}

/**
 * Mask a location that did not parse, for the message that says so: whatever may be a
 * password is hidden (and remembered as a secret) even where no valid host follows it, which
 * {@linkcode mask} cannot tell from other text.
 *
 * @param text A location string that failed to parse.
 * @returns The same with anything after the user name's `:` hidden, up to the `@` that ends
 * the user-info (the last `@` when no host follows any), or, with no `@`, a non-numeric port
 * or the older form's `user:pass` to the end.
 * @example A password before an empty host
 * ```ts
 * import assert from "node:assert/strict";
 * assert.equal(maskUnparsed("ftp://u:pw123@/x"), "ftp://u:***@/x");
 * assert.equal(maskUnparsed("ftp:u:pw123"), "ftp:u:***");
 * ```
 */
export function maskUnparsed(text: string): string {
  const m = /^([A-Za-z][A-Za-z0-9+.-]*:)(\/\/)?(.*)$/s.exec(text);
  if (!m) return text;
  const [, scheme, slashes, body] = m as unknown as [string, string, string | undefined, string];
  const kind = scheme.toLowerCase();
  // Local paths hold no password (zip:C:\a.zip, folder:/a:b@c are names).
  if (scheme.length === 2 || kind === "zip:" || kind === "folder:") return text;
  return redact(scheme + (slashes ?? "") + maskBody(body, slashes !== undefined));
}

/**
 * {@linkcode maskUnparsed} for the text after the scheme.
 *
 * @param body What follows `scheme:` or `scheme://`.
 * @param authority Whether it follows `//` (then `host:port` comes first).
 * @returns The body with any password hidden.
 */
function maskBody(body: string, authority: boolean): string {
  let at = userInfoEnd(body);
  if (at < 0) at = body.lastIndexOf("@");
  if (at >= 0) {
    const colon = body.indexOf(":");
    if (colon < 0 || colon > at) return body;
    addSecret(body.slice(colon + 1, at));
    return body.slice(0, colon + 1) + "***" + body.slice(at);
  }
  // No "@": a user who left out the host wrote user:pass where host:port goes.
  const from = authority && body.startsWith("[") ? body.indexOf("]") + 1 : 0;
  const colon = body.indexOf(":", from);
  if (colon < 0) return body;
  const port = /^[^/]*/.exec(body.slice(colon + 1))![0];
  if (authority && /^\d*$/.test(port)) return body;
  addSecret(body.slice(colon + 1));
  return body.slice(0, colon + 1) + "***";
}
