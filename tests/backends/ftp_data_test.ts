/**
 * FTP transfers against a server in memory whose quirks happen every time: a rename that
 * must never put another upload's file at a real name, a download that must never deliver
 * more bytes than listed, a reply that belongs to another command, and a listing cut short
 * that the server still confirms.
 *
 * @module
 */
import assert from "node:assert/strict";
import { FtpBackend } from "../../lib/backends/ftp/ftp.ts";
import { replyFits } from "../../lib/backends/ftp/session.ts";
import { startMemoryFtp } from "../servers/ftp_memory.ts";
import { until } from "../_until.ts";

const MTIME = Date.UTC(2026, 0, 1);

function backend(port: number, path = "/up", timeout = 5000): FtpBackend {
  return new FtpBackend({
    host: "127.0.0.1",
    port,
    user: "u",
    password: "p",
    path,
    secure: false,
    display: `ftp://127.0.0.1:${port}${path}`,
    connections: 1,
    timeout,
    retryDelay: 5,
  });
}

const bytes = (n: number, fill: number) => new Uint8Array(n).fill(fill);

Deno.test("ftp write() renames only after RNFR was answered: on a server whose RNTO can run before its RNFR, no upload lands at another's name", async () => {
  const server = startMemoryFtp({ rntoFirst: true });
  server.dirs.add("/up");
  const b = backend(server.port);
  try {
    await b.open("write");
    const sent = new Map([["a.bin", bytes(100, 1)], ["b.bin", bytes(200, 2)]]);
    // Both at once over one connection: the second waits for it while the first is renamed.
    // A failed write is allowed (the run counts it and tries again); a wrong file is not.
    await Promise.all(
      [...sent].map(([key, data]) =>
        b.write(key, ReadableStream.from([data]), { size: data.length, mtime: MTIME })
          .catch(() => undefined)
      ),
    );
    for (const [key, data] of sent) {
      const there = server.files.get(`/up/${key}`);
      if (there) assert.deepEqual(there, data, `${key} holds another upload's bytes`);
    }
    // RNTO went out only right behind an RNFR answered 350 (never sent with it).
    const lines = server.received;
    for (let i = 0; i < lines.length; i++) {
      if (lines[i]!.startsWith("RNTO ")) assert.match(lines[i - 1]!, /^RNFR /);
    }
  } finally {
    await b.close();
    await server.stop();
  }
});

Deno.test("ftp write() on a server that offers HASH: an upload of the right size with other bytes never takes the real name", async () => {
  let corrupt = 1;
  const server = startMemoryFtp({
    hash: true,
    // The first upload lands with one byte changed: its size is right, its bytes are not.
    storeBytes: (_path, data) => corrupt-- > 0 ? data.map((b, i) => i === 7 ? b ^ 1 : b) : data,
  });
  server.dirs.add("/up");
  const b = backend(server.port);
  try {
    await b.open("write");
    const data = bytes(500, 6);
    const meta = { size: 500, mtime: MTIME };
    await assert.rejects(b.write("a.bin", ReadableStream.from([data]), meta), /SHA-256/);
    assert.equal(server.files.has("/up/a.bin"), false, "nothing at the real name");
    await b.write("a.bin", ReadableStream.from([data]), meta);
    assert.deepEqual(server.files.get("/up/a.bin"), data);
    assert.ok(server.received.some((l) => l.startsWith("HASH ")));
  } finally {
    await b.close();
    await server.stop();
  }
});

Deno.test("ftp read() never delivers more bytes than the listing said, and errors", async () => {
  const server = startMemoryFtp({
    retrBytes: (_path, data) => new Uint8Array([...data, ...bytes(5000, 9)]),
  });
  server.dirs.add("/up");
  server.files.set("/up/f.bin", bytes(1000, 7));
  const b = backend(server.port);
  try {
    await b.open("read");
    const listed = await b.list();
    assert.equal(listed.entries.find((e) => e.key === "f.bin")?.size, 1000);
    let delivered = 0;
    const stream = await b.read("f.bin");
    await assert.rejects(async () => {
      for await (const chunk of stream) delivered += chunk.length;
    }, /more|bytes/);
    assert.ok(delivered <= 1000, `${delivered} bytes delivered of a file listed at 1000`);
  } finally {
    await b.close();
    await server.stop();
  }
});

Deno.test("ftp read() of a file the data connection brings short, though the server says 226, errors", async () => {
  const server = startMemoryFtp({ retrBytes: (_path, data) => data.subarray(0, 600) });
  server.dirs.add("/up");
  server.files.set("/up/f.bin", bytes(1000, 7));
  const b = backend(server.port);
  try {
    await b.open("read");
    await b.list();
    const stream = await b.read("f.bin");
    await assert.rejects(async () => {
      for await (const _ of stream) { /* drained */ }
    }, /600 of 1000/);
  } finally {
    await b.close();
    await server.stop();
  }
});

Deno.test("ftp: a reply that belongs to another command closes the connection; it is never used again", async () => {
  let stray = true;
  const server = startMemoryFtp({
    // After the first MFMT's own answer, a transfer's "226" that no command asked for: every
    // reply read on that connection from then on would be the previous command's.
    answer: (line) => {
      if (!line.startsWith("MFMT ") || !stray) return undefined;
      stray = false;
      return `213 Modify=20260101000000; ${line.split(" ").slice(2).join(" ")}\r\n226 stray`;
    },
  });
  server.dirs.add("/up");
  const b = backend(server.port);
  try {
    await b.open("write");
    const data = bytes(300, 3);
    await b.write("a.bin", ReadableStream.from([data]), { size: 300, mtime: MTIME });
    assert.deepEqual(server.files.get("/up/a.bin"), data);
    const before = server.connections;
    const other = bytes(400, 4);
    await b.write("b.bin", ReadableStream.from([other]), { size: 400, mtime: MTIME });
    assert.deepEqual(server.files.get("/up/b.bin"), other);
    assert.equal(before, 2, "the connection that read the stray reply was replaced");
  } finally {
    await b.close();
    await server.stop();
  }
});

Deno.test("ftp list(): a listing whose data ends mid-line, though the server says 226, is asked again, never read as a line of no known form", async () => {
  let cuts = 1;
  const server = startMemoryFtp({
    listingBytes: (_path, text) => cuts-- > 0 ? text.slice(0, text.length - 7) : text,
  });
  server.dirs.add("/up");
  for (let i = 0; i < 5; i++) server.files.set(`/up/f${i}.bin`, bytes(10 + i, i));
  const b = backend(server.port);
  try {
    await b.open("read");
    const listed = await b.list();
    assert.deepEqual(listed.problems, []);
    assert.deepEqual(listed.entries.map((e) => e.key), [0, 1, 2, 3, 4].map((i) => `f${i}.bin`));
  } finally {
    await b.close();
    await server.stop();
  }
});

Deno.test("ftp list(): an MLSD listing cut at a line's end is asked again where the server counts its lines (pure-ftpd's 'N matches total')", async () => {
  let cuts = 1;
  const server = startMemoryFtp({
    countMatches: true,
    listingBytes: (_path, text) =>
      cuts-- > 0 ? text.slice(0, text.lastIndexOf("\n", text.length - 3) + 1) : text,
  });
  server.dirs.add("/up");
  for (let i = 0; i < 5; i++) server.files.set(`/up/f${i}.bin`, bytes(10 + i, i));
  const b = backend(server.port);
  try {
    await b.open("read");
    const listed = await b.list();
    assert.deepEqual(listed.problems, []);
    assert.deepEqual(listed.entries.map((e) => e.key), [0, 1, 2, 3, 4].map((i) => `f${i}.bin`));
  } finally {
    await b.close();
    await server.stop();
  }
});

Deno.test("ftp list(): a server that ends every listing without a line break is listed all the same (the same text twice over)", async () => {
  const server = startMemoryFtp({ listingBytes: (_path, text) => text.replace(/\r\n$/, "") });
  server.dirs.add("/up");
  for (let i = 0; i < 3; i++) server.files.set(`/up/f${i}.bin`, bytes(10 + i, i));
  const b = backend(server.port);
  try {
    await b.open("read");
    const listed = await b.list();
    assert.deepEqual(listed.problems, []);
    assert.deepEqual(listed.entries.map((e) => e.key), ["f0.bin", "f1.bin", "f2.bin"]);
  } finally {
    await b.close();
    await server.stop();
  }
});

Deno.test("ftp: a stray preliminary reply read for EPSV closes the connection, and the listing is asked again on a fresh one", async () => {
  let stray = true;
  const server = startMemoryFtp({
    // The root's MLST answered, then a "150" no command asked for: EPSV would read it.
    answer: (line) => {
      if (!line.startsWith("MLST ") || !stray) return undefined;
      stray = false;
      return "250-Listing\r\n type=dir;modify=20260101000000; up\r\n250 End\r\n150 stray";
    },
  });
  server.dirs.add("/up");
  server.files.set("/up/f.bin", bytes(10, 1));
  const b = backend(server.port);
  try {
    await b.open("read");
    const listed = await b.list();
    assert.deepEqual(listed.problems, []);
    assert.deepEqual(listed.entries.map((e) => e.key), ["f.bin"]);
    assert.equal(server.connections, 2, "the connection that read the stray reply was replaced");
  } finally {
    await b.close();
    await server.stop();
  }
});

Deno.test("ftp read() cancelled mid-file closes its data connection at once: the rest is never read", async () => {
  const server = startMemoryFtp();
  server.dirs.add("/up");
  server.files.set("/up/big.bin", bytes(64 << 20, 5));
  const b = backend(server.port);
  try {
    await b.open("read");
    await b.list();
    const reader = (await b.read("big.bin")).getReader();
    assert.equal((await reader.read()).done, false);
    await reader.cancel();
    const retr = () => server.sent.filter((s) => s.command.startsWith("RETR"));
    await until("the server's RETR ended", () => retr().length === 1, 30_000);
    assert.deepEqual(retr(), [{ command: "RETR /up/big.bin", whole: false }]);
  } finally {
    await b.close();
    await server.stop();
  }
});

Deno.test("replyFits() takes what pure-ftpd, vsftpd, proFTPD and ftp-srv answer, and no stray reply", () => {
  const fits = (command: string, code: number, final = false) =>
    replyFits(command, { code, message: `${code} x` }, final);
  for (
    const [command, code] of [
      ["USER u", 331],
      ["PASS p", 230],
      ["OPTS UTF8 ON", 504],
      ["FEAT", 211],
      ["TYPE I", 200],
      ["MLST /a", 250],
      ["SIZE /a", 213],
      ["MFMT 20260101000000 /a", 213],
      ["MDTM 20260101000000 /a", 213],
      ["MKD /d", 257],
      ["CWD /d", 250],
      ["DELE /a", 250],
      ["RNFR /a", 350],
      ["RNTO /b", 250],
      ["REST 10", 350],
      ["EPSV", 229],
      ["PASV", 227],
      ["STOR /a", 150],
      ["RETR /a", 125],
      ["MLSD /d", 226],
      ["RNFR /a", 550],
      ["EPSV", 421],
      ["RETR /a", 451],
    ] as const
  ) assert.ok(fits(command, code), `${command}: ${code}`);
  assert.ok(fits("STOR /a", 226, true));
  for (
    const [command, code, final] of [
      ["MLST /a", 226, false],
      ["MLST /a", 150, false],
      ["EPSV", 150, false],
      ["EPSV", 250, false],
      ["RNFR /a", 250, false],
      ["RNTO /b", 350, false],
      ["SIZE /a", 229, false],
      ["DELE /a", 426, false],
      ["STOR /a", 150, true],
      ["RETR /a", 229, false],
      ["CWD /d", 331, false],
    ] as const
  ) assert.ok(!fits(command, code, final), `${command}: ${code} is a stray`);
});

Deno.test("ftp: a server that greeted this run and is silent on a new connection is a stall, tried again, not 'no FTP server'", async () => {
  let dropped = false;
  const server = startMemoryFtp({
    // The second connection hears no greeting (a server or proxy holding it up).
    greets: (n) => n !== 2,
    // The first upload's STOR drops its connection, so the next try needs a new one.
    drops: (line) => !dropped && line.startsWith("STOR ") && (dropped = true),
  });
  server.dirs.add("/up");
  // A short reply timeout, so that the silent greeting is given up soon.
  const b = backend(server.port, "/up", 1000);
  try {
    await b.open("write");
    const data = bytes(300, 9);
    // Before, the silent greeting was "not an FTP server" (final): the write failed.
    await b.write("s.bin", ReadableStream.from([data]), { size: data.length, mtime: MTIME });
    assert.deepEqual(server.files.get("/up/s.bin"), data);
    assert.ok(server.connections >= 3, `${server.connections} connections`);
  } finally {
    await b.close();
    await server.stop();
  }
});
