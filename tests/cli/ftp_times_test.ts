/**
 * Times an FTP server lists only to the minute (vsftpd: LIST, no MLSD): a file written again
 * within its minute, to the same size, keeps its listing's stamp, so that minute proves
 * nothing while it is recent. The daemon runs where `.ci/run` installed it (root); elsewhere
 * the cases are skipped, saying why, and in CI its absence fails (see `ftp_cli_test.ts`).
 *
 * @module
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { FtpBackend } from "../../lib/backends/ftp/ftp.ts";
import { daemonAvailable, startVsftpd } from "../servers/ftp.ts";
import { skipUnless } from "../_skips.ts";
import { ferry, scratch, summaryOf } from "./_run.ts";

const noVs = () =>
  skipUnless(
    daemonAvailable("vsftpd"),
    import.meta.url,
    "vsftpd is not installed, or the tests do not run as root",
  );

Deno.test({
  name:
    "ftp → folder on vsftpd: a second same-size rewrite within one minute is copied (MDTM while the minute is recent), in UTC and listing in local time",
  ignore: noVs(),
  fn: async () => {
    // vsftpd set to local time (use_localtime, Debian's default) lists and answers MDTM in its
    // zone: 8 hours behind UTC here, its current minute must still count as recent.
    for (const zone of [undefined, "America/Los_Angeles"]) {
      const server = await startVsftpd(zone ? { zone } : {});
      const s = await scratch();
      try {
        const dir = join(server.root, "pub/src");
        await Deno.mkdir(dir);
        const file = join(dir, "note.txt");
        const from = `${server.url}/pub/src`;
        const put = async (text: string, at: number) => {
          await Deno.writeTextFile(file, text);
          await Deno.utime(file, at / 1000, at / 1000);
        };
        const sync = async () => {
          const r = await ferry(["sync", from, s.dst, "--json"]);
          assert.equal(r.code, 0, r.stderr);
          return summaryOf(r.stdout);
        };
        // The first version is an hour old; the next two are written within the current
        // minute, a second apart, all three the same size: LIST shows the two last as the same
        // minute.
        const minute = Math.floor(Date.now() / 60_000) * 60_000;
        await put("version 1", minute - 3_600_000);
        assert.equal((await sync()).copied, 1);
        await put("version 2", minute + 1_000);
        assert.equal((await sync()).updated, 1);
        assert.equal(await Deno.readTextFile(join(s.dst, "note.txt")), "version 2");
        await put("version 3", minute + 2_000);
        const third = await sync();
        assert.equal(third.updated, 1, `the second rewrite within the minute was missed (${zone})`);
        assert.equal(await Deno.readTextFile(join(s.dst, "note.txt")), "version 3");
        // And nothing is copied again once it is in step.
        const again = await sync();
        assert.deepEqual([again.copied, again.updated, again.bytes], [0, 0, 0]);
      } finally {
        await s.cleanup();
        await server.stop();
      }
    }
  },
});

Deno.test({
  name:
    "ftp on vsftpd: once its minute is old, a state that recorded a file's second stands only while MDTM still gives it",
  ignore: noVs(),
  fn: async () => {
    const server = await startVsftpd();
    const ftp = (path: string) =>
      new FtpBackend({
        host: server.host,
        port: server.port,
        user: server.user,
        password: server.password,
        path,
        secure: false,
        display: `ftp://${server.host}:${server.port}${path}`,
      });
    try {
      const dir = join(server.root, "pub/old");
      await Deno.mkdir(dir);
      // Two days old: not recent in any zone.
      const at = Math.floor(Date.now() / 60_000) * 60_000 - 2 * 86_400_000 + 17_000;
      await Deno.writeTextFile(join(dir, "a.txt"), "aaa");
      await Deno.utime(join(dir, "a.txt"), at / 1000, at / 1000);
      const b = ftp("/pub/old");
      await b.open();
      const [listed] = (await b.list()).entries;
      assert.equal(listed!.mtime, at); // by MDTM: the state does not know it
      const base = listed!.stamp!;
      const second = new Date(at).toISOString().replace(/\D/g, "").slice(0, 14);
      const known = (stamp: string) => new Map([["a.txt", { size: 3, mtime: at + 123, stamp }]]);
      // The second the state recorded (while the minute was recent) is still the file's.
      const same = (await b.list({ known: known(`${base}:at=${second}`) })).entries[0]!;
      assert.deepEqual([same.mtime, same.stamp], [at + 123, base]);
      // Another second: the file was written again within that minute after the state saw it.
      const other = (await b.list({ known: known(`${base}:at=${second.slice(0, 12)}59`) }))
        .entries[0]!;
      assert.deepEqual([other.mtime, other.precision], [at, 1000]);
      await b.close();
    } finally {
      await server.stop();
    }
  },
});
