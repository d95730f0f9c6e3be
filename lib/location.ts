/**
 * Location strings as users write them (PRODUCT.md, "Locations"), parsed into data. Remote
 * locations always print with the password masked.
 *
 * @module
 */
import { UsageError } from "./errors.ts";
import { addSecret, redact, userInfoEnd } from "./secrets.ts";
import { backendKinds, kindOfScheme, plainKind } from "./backends/registry.ts";

/**
 * A parsed location, one member per kind of location that ferry is built with (its backend
 * kinds parse them: lib/backends/registry.ts). A kind registered at run time parses into a
 * location of its own, outside this type.
 */
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
  const kinds = backendKinds();
  if (text.trim() === "") {
    throw new UsageError(
      `Empty location: give ${listed(kinds.map((k) => k.spellings[0]!))} location`,
    );
  }
  if (/^[A-Za-z]:[\\/]/.test(text) || /^\\\\/.test(text)) {
    return plainKind().parsePlain(text) as Location;
  }
  // Schemes are case-insensitive (RFC 3986): FTP:// is ftp://, never a folder of that name.
  const m = /^([A-Za-z][A-Za-z0-9+.-]+):(.*)$/s.exec(text);
  if (!m) return plainKind().parsePlain(text) as Location;
  const [, spelled, rest] = m as unknown as [string, string, string];
  const scheme = spelled.toLowerCase();
  const kind = kindOfScheme(scheme);
  if (kind) return kind.parse(scheme, rest, text) as Location;
  throw new UsageError(
    `Unknown location kind "${spelled}:" in "${maskUnparsed(text)}": use ${
      listed(kinds.flatMap((k) => k.spellings))
    }`,
  );
}

/** `a, b or c`. */
function listed(items: readonly string[]): string {
  return items.length < 2 ? items.join("") : `${items.slice(0, -1).join(", ")} or ${items.at(-1)}`;
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
  const name = scheme.slice(0, -1).toLowerCase();
  // Drives and paths hold no password (C:a, zip:C:\a.zip, folder:/a:b@c are names).
  if (name.length === 1 || kindOfScheme(name)?.plainSchemes?.includes(name)) return text;
  return redact(scheme + (slashes ?? "") + maskBody(body, slashes !== undefined));
}

/**
 * {@linkcode maskUnparsed} for the text after the scheme.
 *
 * @param body What follows `scheme:` or `scheme://`.
 * @param authority Whether it follows `//` (then `host:port` comes first).
 * @returns The body with any password hidden.
 */
export function maskBody(body: string, authority: boolean): string {
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
