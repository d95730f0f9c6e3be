/**
 * Secrets never leave ferry: every line it prints, logs or stores passes through
 * {@linkcode redact}, which replaces the passwords and keys it was given (from locations, the
 * endpoint and the environment) by `***`, whatever message they ended up in.
 *
 * @module
 */

const secrets = new Set<string>();

/** Environment variables whose values are secrets. */
const SECRET_ENV = ["AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "FERRY_FTP_PASSWORD"];

/**
 * Remember a secret so that {@linkcode redact} hides it (and its URL-encoded spelling).
 *
 * @param value The secret; values shorter than 3 characters are not remembered (hiding every
 * "a" in every line would make output unreadable, and such a password protects nothing).
 */
export function addSecret(value: string | undefined): void {
  if (!value || value.length < 3) return;
  secrets.add(value);
  const encoded = encodeURIComponent(value);
  if (encoded !== value) secrets.add(encoded);
}

/** Remember the secrets the environment holds (called once at start-up). */
export function addEnvironmentSecrets(): void {
  for (const name of SECRET_ENV) {
    try {
      addSecret(Deno.env.get(name));
    } catch { /* no permission to read it: nothing to hide either */ }
  }
}

/**
 * Hide every remembered secret, and any `user:password@` in a URL, in a line of text.
 *
 * @param text Any text about to be printed, logged or stored.
 * @returns The text with secrets replaced by `***`.
 * @example A password from a URL
 * ```ts
 * import assert from "node:assert/strict";
 * assert.equal(redact("cannot reach ftp://me:pw123@host/x"), "cannot reach ftp://me:***@host/x");
 * ```
 */
export function redact(text: string): string {
  let out = text;
  for (const s of secrets) if (out.includes(s)) out = out.replaceAll(s, "***");
  return maskUrls(out);
}

/**
 * Where the user-info of a URL body (`user:pass@host/path`, after `scheme://` or the older
 * `scheme:`) ends: the first `@` after which the host, up to the next `/`, holds no `@`. A
 * password may hold `/` and `@`; a host holds neither.
 *
 * @param body The text after the scheme.
 * @returns The index of that `@`, or -1.
 */
export function userInfoEnd(body: string): number {
  for (let at = body.indexOf("@"); at >= 0; at = body.indexOf("@", at + 1)) {
    const rest = body.slice(at + 1);
    const slash = rest.indexOf("/");
    const host = slash < 0 ? rest : rest.slice(0, slash);
    if (host !== "" && !host.includes("@") && !/\s/.test(host)) return at;
  }
  return -1;
}

function maskUrls(text: string): string {
  if (!text.includes("@")) return text;
  let out = "";
  let done = 0;
  const scheme = /[A-Za-z][A-Za-z0-9+.-]*:(?:\/\/)?/g;
  for (let m = scheme.exec(text); m !== null; m = scheme.exec(text)) {
    const bodyStart = m.index + m[0].length;
    // The URL is one word: it ends at white space or a quote.
    const word = /^[^\s"']*/.exec(text.slice(bodyStart))![0];
    const user = /^[^:/@]*:/.exec(word);
    if (!user) continue;
    let end = userInfoEnd(word);
    // No host after any "@" (a location that does not parse): the last one ends the password.
    if (end < 0) end = word.lastIndexOf("@");
    if (end <= user[0].length) continue;
    out += text.slice(done, bodyStart + user[0].length) + "***";
    done = bodyStart + end;
    scheme.lastIndex = done;
  }
  return out + text.slice(done);
}
