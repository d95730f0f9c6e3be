/**
 * A small FTP server in this process, its files in memory, for tests that need a server's
 * quirks to happen every time rather than under load: plain FTP on 127.0.0.1 with MLST, MLSD,
 * SIZE, MFMT, EPSV, STOR, RETR, RNFR/RNTO, DELE and (when asked) HASH. Its rename source behaves as pure-ftpd's
 * (an RNFR that fails leaves the previous source in place) and, with `rntoFirst`, as ftp-srv's
 * (commands that arrive together are handled at once, and an RNTO can run before the RNFR in
 * front of it has set its source). Other quirks are hooks.
 *
 * @module
 */

import { createHash } from "node:crypto";

const enc = new TextEncoder();
const dec = new TextDecoder();

/** What a test can bend. */
export interface MemoryFtpQuirks {
  /** An RNTO that arrives right behind its RNFR runs first (ftp-srv's race). */
  rntoFirst?: boolean;
  /** Answers a command line instead of the server (`undefined`: the server answers). */
  answer?: (line: string) => string | undefined;
  /** The bytes a listing (MLSD) sends for a folder, given the whole listing text. */
  listingBytes?: (path: string, text: string) => string;
  /** An MLSD ends as pure-ftpd's does, counting its lines: "226 N matches total". */
  countMatches?: boolean;
  /** Offers HASH with SHA-256 (as FileZilla Server and proFTPD's mod_digest do). */
  hash?: boolean;
  /** The bytes a STOR keeps, given those it received. */
  storeBytes?: (path: string, bytes: Uint8Array) => Uint8Array;
  /** The bytes a RETR sends, given the file. */
  retrBytes?: (path: string, bytes: Uint8Array) => Uint8Array;
  /** Whether the Nth control connection (from 1) is greeted; one that is not hears nothing. */
  greets?: (connection: number) => boolean;
  /** Whether a command line drops its connection unanswered (a reset, to the client). */
  drops?: (line: string) => boolean;
}

/** A running server. */
export interface MemoryFtp {
  port: number;
  /** Files by absolute path. */
  files: Map<string, Uint8Array>;
  /** Folders by absolute path (`/` is there). */
  dirs: Set<string>;
  /** Every command line received, in the order it arrived, on every connection. */
  received: string[];
  /** Downloads and listings sent, and whether all their bytes went (the client read them). */
  sent: { command: string; whole: boolean }[];
  /** Control connections accepted. */
  get connections(): number;
  stop(): Promise<void>;
}

const TIME = "20260101000000";

/**
 * Start the server.
 *
 * @param quirks How it departs from a plain server.
 * @returns The server.
 */
export function startMemoryFtp(quirks: MemoryFtpQuirks = {}): MemoryFtp {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const files = new Map<string, Uint8Array>();
  const dirs = new Set<string>(["/"]);
  const received: string[] = [];
  const sent: MemoryFtp["sent"] = [];
  const open = new Set<Deno.Conn | Deno.Listener>();
  let connections = 0;
  const close = (c: Deno.Conn | Deno.Listener) => {
    open.delete(c);
    try {
      c.close();
    } catch { /* closed already */ }
  };
  const parent = (p: string) => p.slice(0, p.lastIndexOf("/")) || "/";

  const session = async (conn: Deno.Conn) => {
    const number = ++connections;
    open.add(conn);
    const say = (text: string) => conn.write(enc.encode(text + "\r\n"));
    let source: string | undefined;
    let passive: Deno.Listener | undefined;
    const facts = (p: string) =>
      files.has(p)
        ? `type=file;size=${files.get(p)!.length};modify=${TIME}; ${p.split("/").pop()}`
        : `type=dir;modify=${TIME}; ${p.split("/").pop()}`;
    const dataConn = async (): Promise<Deno.Conn> => {
      const l = passive!;
      passive = undefined;
      const d = await l.accept();
      close(l);
      open.add(d);
      return d;
    };
    const handle = async (line: string): Promise<void> => {
      if (quirks.drops?.(line)) throw new Error("dropped");
      const custom = quirks.answer?.(line);
      if (custom !== undefined) return void await say(custom);
      const sp = line.indexOf(" ");
      const verb = (sp < 0 ? line : line.slice(0, sp)).toUpperCase();
      const arg = sp < 0 ? "" : line.slice(sp + 1);
      switch (verb) {
        case "USER":
          return void await say("331 password please");
        case "PASS":
          return void await say("230 in");
        case "FEAT":
          return void await say(
            "211-Features:\r\n MLST type*;size*;modify*;\r\n SIZE\r\n MFMT\r\n" +
              (quirks.hash ? " HASH SHA-1;SHA-256*;MD5\r\n" : "") + "211 End",
          );
        case "HASH": {
          const bytes = files.get(arg);
          if (!quirks.hash || !bytes) return void await say("550 no hash");
          const hex = createHash("sha256").update(bytes).digest("hex");
          return void await say(`213 SHA-256 0-${bytes.length} ${hex} ${arg}`);
        }
        case "OPTS":
        case "TYPE":
        case "NOOP":
          return void await say("200 ok");
        case "CWD":
          return void await say(dirs.has(arg) ? "250 ok" : "550 no such folder");
        case "MKD":
          if (dirs.has(arg) || files.has(arg)) return void await say("550 exists");
          dirs.add(arg);
          return void await say(`257 "${arg}" made`);
        case "MLST":
          if (!files.has(arg) && !dirs.has(arg)) return void await say("550 not there");
          return void await say(`250-Listing\r\n ${facts(arg)}\r\n250 End`);
        case "SIZE":
          return void await say(files.has(arg) ? `213 ${files.get(arg)!.length}` : "550 not there");
        case "MFMT":
          return void await say(`213 Modify=${TIME}; ${arg.split(" ").slice(1).join(" ")}`);
        case "DELE":
          return void await say(files.delete(arg) ? "250 deleted" : "550 not there");
        case "RNFR":
          if (!files.has(arg) && !dirs.has(arg)) return void await say("550 not there");
          source = arg;
          return void await say("350 ready for RNTO");
        case "RNTO": {
          if (source === undefined) return void await say("503 RNFR first");
          const from = source;
          source = undefined;
          const bytes = files.get(from);
          if (!bytes) return void await say("550 rename failed");
          files.delete(from);
          files.set(arg, bytes);
          return void await say("250 renamed");
        }
        case "EPSV": {
          if (passive) close(passive);
          passive = Deno.listen({ hostname: "127.0.0.1", port: 0 });
          open.add(passive);
          const port = (passive.addr as Deno.NetAddr).port;
          return void await say(`229 Entering Extended Passive Mode (|||${port}|)`);
        }
        case "STOR": {
          if (!passive) return void await say("425 EPSV first");
          if (!dirs.has(parent(arg))) return void await say("553 no such folder");
          const d = await dataConn();
          await say("150 go ahead");
          const chunks: Uint8Array[] = [];
          for await (const c of d.readable) chunks.push(c.slice());
          close(d);
          const bytes = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
          let at = 0;
          for (const c of chunks) bytes.set(c, (at += c.length) - c.length);
          files.set(arg, quirks.storeBytes?.(arg, bytes) ?? bytes);
          return void await say("226 stored");
        }
        case "RETR":
        case "MLSD": {
          if (!passive) return void await say("425 EPSV first");
          let out: Uint8Array;
          let done = "226 sent";
          if (verb === "RETR") {
            const bytes = files.get(arg);
            if (!bytes) return void await say("550 not there");
            out = quirks.retrBytes?.(arg, bytes) ?? bytes;
          } else {
            if (!dirs.has(arg)) return void await say("550 not there");
            const prefix = arg === "/" ? "/" : arg + "/";
            const names = [...files.keys(), ...dirs].filter((p) =>
              p.startsWith(prefix) && p.length > prefix.length &&
              !p.slice(prefix.length).includes("/")
            );
            const text = names.map((p) => facts(p) + "\r\n").join("");
            out = enc.encode(quirks.listingBytes?.(arg, text) ?? text);
            if (quirks.countMatches) {
              done = `226-Options: -a -l\r\n226 ${names.length} matches total`;
            }
          }
          const d = await dataConn();
          await say("150 here it comes");
          let whole = true;
          try {
            for (let at = 0; at < out.length;) at += await d.write(out.subarray(at));
          } catch {
            whole = false; // the client closed the data connection
          }
          close(d);
          sent.push({ command: line, whole });
          return void await say(whole ? done : "426 connection closed");
        }
        case "QUIT":
          await say("221 bye");
          return close(conn);
        default:
          return void await say("502 not here");
      }
    };
    try {
      if (quirks.greets?.(number) ?? true) await say("220 memory FTP");
      let text = "";
      const buf = new Uint8Array(64 << 10);
      for (;;) {
        const n = await conn.read(buf);
        if (n === null) break;
        text += dec.decode(buf.subarray(0, n), { stream: true });
        const lines: string[] = [];
        for (let at = text.indexOf("\r\n"); at >= 0; at = text.indexOf("\r\n")) {
          lines.push(text.slice(0, at));
          received.push(text.slice(0, at));
          text = text.slice(at + 2);
        }
        // What came in one read is handled together; with rntoFirst, an RNTO right behind its
        // RNFR runs before it (ftp-srv stats the RNFR's file first, and the RNTO is quicker).
        for (let i = 0; i < lines.length; i++) {
          const next = lines[i + 1];
          if (quirks.rntoFirst && /^RNFR /i.test(lines[i]!) && next && /^RNTO /i.test(next)) {
            await handle(next);
            await handle(lines[i]!);
            i++;
          } else await handle(lines[i]!);
        }
      }
    } catch { /* the client went away */ }
    if (passive) close(passive);
    close(conn);
  };

  const serving = (async () => {
    for (;;) {
      let c: Deno.Conn;
      try {
        c = await listener.accept();
      } catch {
        return;
      }
      session(c);
    }
  })();

  return {
    port: (listener.addr as Deno.NetAddr).port,
    files,
    dirs,
    received,
    sent,
    get connections() {
      return connections;
    },
    async stop() {
      listener.close();
      for (const c of [...open]) close(c);
      await serving;
    },
  };
}
