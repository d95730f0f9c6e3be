/**
 * Location strings as users write them (PRODUCT.md, "Locations"), parsed into data. Remote
 * locations always print with the password masked.
 *
 * @module
 */
import { UsageError } from "./errors.ts";

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
 * import { assertEquals } from "node:assert/strict";
 * assertEquals(parseLocation("folder:/data").kind, "local");
 * assertEquals(parseLocation("ftp://me:secret@host/dir").text, "ftp://me:***@host/dir");
 * ```
 */
export function parseLocation(text: string): Location {
  if (text.trim() === "") {
    throw new UsageError("Empty location: give a folder, zip:, ftp:// or s3:// location");
  }
  if (/^[A-Za-z]:[\\/]/.test(text) || /^\\\\/.test(text)) {
    return { kind: "local", path: text, text };
  }
  const m = /^([a-z][a-z0-9+]*):(.*)$/s.exec(text);
  if (!m) return { kind: "local", path: text, text };
  const [, scheme, rest] = m as unknown as [string, string, string];
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
      const u = /^\/\/([^/]+)(?:\/(.*))?$/s.exec(rest);
      if (!u) {
        throw new UsageError(`Location "${text}" is malformed: write ${scheme}://bucket[/prefix]`);
      }
      const prefix = (u[2] ?? "").replace(/\/+$/, "");
      return { kind: scheme, bucket: u[1]!, prefix, text };
    }
    default:
      throw new UsageError(
        `Unknown location kind "${scheme}:" in "${text}": use a folder, zip:, ftp://, ftps://, s3:// or wasabi://`,
      );
  }
}

function fileUrlPath(text: string): string {
  try {
    const u = new URL(text);
    const p = decodeURIComponent(u.pathname);
    return Deno.build.os === "windows" && /^\/[A-Za-z]:/.test(p) ? p.slice(1) : p;
  } catch {
    throw new UsageError(`Location "${text}" is not a valid file:// URL`);
  }
}

function parseFtp(scheme: "ftp" | "ftps", rest: string, text: string): Location {
  let userinfo = "";
  let hostPath: string;
  let old = false;
  if (rest.startsWith("//")) {
    const body = rest.slice(2);
    const slash = body.indexOf("/");
    const atIdx = body.lastIndexOf("@", slash < 0 ? undefined : slash);
    if (atIdx >= 0) {
      userinfo = body.slice(0, atIdx);
      hostPath = body.slice(atIdx + 1);
    } else hostPath = body;
  } else {
    // The older `ftp:user:pass@host/path` form.
    old = true;
    const slash = rest.indexOf("/");
    const atIdx = rest.lastIndexOf("@", slash < 0 ? undefined : slash);
    if (atIdx < 0) {
      throw new UsageError(
        `Location "${mask(text)}" is malformed: write ${scheme}://user@host/path`,
      );
    }
    userinfo = rest.slice(0, atIdx);
    hostPath = rest.slice(atIdx + 1);
  }
  const slash = hostPath.indexOf("/");
  const hostPort = slash < 0 ? hostPath : hostPath.slice(0, slash);
  const path = slash < 0 ? "/" : hostPath.slice(slash);
  const hp = /^(\[[^\]]+\]|[^:]+)(?::(\d+))?$/.exec(hostPort);
  if (!hp) throw new UsageError(`Location "${mask(text)}" has no valid host`);
  const colon = userinfo.indexOf(":");
  const dec = (s: string) => old ? s : decodeURIComponent(s);
  const user = dec(colon < 0 ? userinfo : userinfo.slice(0, colon)) || "anonymous";
  const loc: Location = {
    kind: scheme,
    host: hp[1]!,
    port: hp[2] ? Number(hp[2]) : 21,
    user,
    path: decodeURIComponent(path),
    text: mask(text),
  };
  if (colon >= 0) loc.password = dec(userinfo.slice(colon + 1));
  return loc;
}

/**
 * Mask the password in a location string or URL.
 *
 * @param text A location string.
 * @returns The same with any password replaced by `***`.
 */
export function mask(text: string): string {
  return text
    .replace(/^(ftps?:\/\/[^:/@]*:)[^/]*(@)/, "$1***$2")
    .replace(/^(ftps?:[^/:@]*:)[^/]*(@)/, "$1***$2");
}
