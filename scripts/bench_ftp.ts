/**
 * `deno task bench`, FTP part: local → FTP on pure-ftpd (127.0.0.1, started here with a private
 * configuration; run as root; its files and the source in /dev/shm where there is one), 1,000 files of 1–8 KiB in nested folders. Against
 * `lftp mirror -R --parallel=4` and `rclone sync` (4 transfers, 4 checkers) in the same run,
 * interleaved, medians of 3: the initial upload, and a no-op resync. Then a folder holding a
 * tenth of the files renamed: how many bytes ferry sent for it (RNFR/RNTO: none), against the
 * folder's bytes.
 *
 * @module
 */
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { V8_OPTION } from "./build.ts";
import { median, say, table, timed } from "./_bench_tools.ts";
import { daemonAvailable, startPureFtpd } from "../tests/servers/ftp.ts";

const CLI = fileURLToPath(new URL("../cli.ts", import.meta.url));

const have = (t: string) =>
  new Deno.Command("sh", { args: ["-c", `command -v ${t}`] }).outputSync().success;

/**
 * @param files How many small files.
 */
export async function benchFtp(files = 1000): Promise<void> {
  if (!daemonAvailable("pure-ftpd")) {
    say("\nbench ftp: needs pure-ftpd (Debian package pure-ftpd) and root; skipped");
    return;
  }
  // In memory where there is a memory file system: the disk here is shared and its speed
  // swings widely (the server's writes would measure the disk, not the tools).
  let base: string | undefined;
  try {
    if (Deno.statSync("/dev/shm").isDirectory) base = "/dev/shm";
  } catch { /* no /dev/shm */ }
  const server = await startPureFtpd({ maxClients: 60, ...(base ? { base } : {}) });
  const work = await Deno.makeTempDir({
    prefix: "ferry-bench-ftp-",
    ...(base ? { dir: base } : {}),
  });
  try {
    const src = join(work, "src");
    let seed = 11;
    const rnd = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff;
    let bytes = 0;
    for (let i = 0; i < files; i++) {
      const dir = join(src, `d${Math.floor(i / 100)}`, `s${Math.floor(i / 10) % 10}`);
      if (i % 10 === 0) Deno.mkdirSync(dir, { recursive: true });
      const n = 1024 + Math.floor(rnd() * 7 * 1024);
      const b = new Uint8Array(n);
      for (let j = 0; j < n; j += 64) b[j] = Math.floor(rnd() * 256);
      Deno.writeFileSync(join(dir, `f${i}.bin`), b);
      bytes += n;
    }
    say(
      `\n== local -> FTP (pure-ftpd on 127.0.0.1): ${files} files, ${(bytes / 1e6).toFixed(2)} MB`,
    );
    const url = (dir: string) => `${server.url}/${dir}`;
    const ferry = (...a: string[]) => [Deno.execPath(), "run", "-A", V8_OPTION, CLI, ...a];
    const lftp = (dir: string) => [
      "lftp",
      "-u",
      `${server.user},${server.password}`,
      "-p",
      String(server.port),
      "-e",
      `set ftp:ssl-allow no; set net:max-retries 2; mirror -R --parallel=4 ${src} /${dir}; quit`,
      "127.0.0.1",
    ];
    const obscured = have("rclone")
      ? new TextDecoder().decode(
        new Deno.Command("rclone", { args: ["obscure", server.password] }).outputSync().stdout,
      ).trim()
      : "";
    const rclone = (dir: string) => [
      "rclone",
      "sync",
      src,
      `:ftp:/${dir}`,
      "--ftp-host",
      "127.0.0.1",
      "--ftp-port",
      String(server.port),
      "--ftp-user",
      server.user,
      "--ftp-pass",
      obscured,
      "--transfers",
      "4",
      "--checkers",
      "4",
    ];
    const results: Record<string, { init: number[]; noop: number[] }> = {
      ferry: { init: [], noop: [] },
      lftp: { init: [], noop: [] },
      rclone: { init: [], noop: [] },
    };
    const peers = (["lftp", "rclone"] as const).filter(have);
    for (let round = 0; round < 3; round++) {
      const state = join(work, `state-${round}.db`);
      const f = () => timed(ferry("sync", src, url(`ferry-${round}`), "--state", state));
      results.ferry!.init.push((await f()).seconds);
      if (peers.includes("lftp")) {
        results.lftp!.init.push((await timed(lftp(`lftp-${round}`))).seconds);
      }
      if (peers.includes("rclone")) {
        results.rclone!.init.push((await timed(rclone(`rclone-${round}`))).seconds);
      }
      results.ferry!.noop.push((await f()).seconds);
      if (peers.includes("lftp")) {
        results.lftp!.noop.push((await timed(lftp(`lftp-${round}`))).seconds);
      }
      if (peers.includes("rclone")) {
        results.rclone!.noop.push((await timed(rclone(`rclone-${round}`))).seconds);
      }
    }
    const rows = (["ferry", ...peers] as const).map((tool) => [
      tool,
      median(results[tool]!.init).toFixed(3),
      median(results[tool]!.noop).toFixed(3),
    ]);
    for (const l of table(["seconds (median of 3)", "initial upload", "no-op resync"], rows)) {
      say(l);
    }
    const ratio = (peer: string, what: "init" | "noop") =>
      results[peer]!.init.length
        ? (median(results.ferry![what]) / median(results[peer]![what])).toFixed(2)
        : "n/a";
    say(
      `ferry/lftp: initial ${ratio("lftp", "init")}, no-op ${ratio("lftp", "noop")}; ` +
        `ferry/rclone: initial ${ratio("rclone", "init")}, no-op ${ratio("rclone", "noop")}`,
    );

    // A folder holding a tenth of the files renamed: a rename on the server, no content sent.
    let folderBytes = 0;
    for (const e of Deno.readDirSync(join(src, "d3"))) {
      for (const f of Deno.readDirSync(join(src, "d3", e.name))) {
        folderBytes += Deno.statSync(join(src, "d3", e.name, f.name)).size;
      }
    }
    Deno.renameSync(join(src, "d3"), join(src, "d3-renamed"));
    const state = join(work, "state-0.db");
    const r = await timed(
      ferry("sync", src, url("ferry-0"), "--state", state, "--delete", "--json"),
    );
    const sum = JSON.parse(r.out.trim().split("\n").filter((l) => l.startsWith("{")).at(-1)!);
    say(
      `folder rename (${folderBytes} B in 100 files): ferry moved ${sum.moved} files and sent ` +
        `${sum.bytes} B (${(100 * sum.bytes / folderBytes).toFixed(2)}% of the folder) in ` +
        `${r.seconds.toFixed(3)} s`,
    );
    if (peers.includes("lftp")) {
      const l = await timed([
        ...lftp("lftp-0").slice(0, -2),
        lftp("lftp-0").at(-2)!.replace(
          "mirror -R",
          "mirror -R --delete",
        ),
        "127.0.0.1",
      ]);
      say(`  lftp mirror -R --delete sends the folder again: ${l.seconds.toFixed(3)} s`);
    }
    Deno.renameSync(join(src, "d3-renamed"), join(src, "d3"));
  } finally {
    await server.stop();
    await Deno.remove(work, { recursive: true });
  }
}

if (import.meta.main) await benchFtp();
