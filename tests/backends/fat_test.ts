/**
 * A FAT USB stick as the destination (an image mounted with fusefat, which needs no kernel
 * module): the local backend learns its 2 s times and case-insensitive names by a probe, so
 * the second run is a no-op instead of copying everything again.
 *
 * @module
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { LocalBackend } from "../../lib/backends/local.ts";
import { ferry } from "../cli/_run.ts";
import { skipUnless } from "../_skips.ts";

async function sh(cmd: string): Promise<boolean> {
  const out = await new Deno.Command("sh", { args: ["-c", cmd], stdout: "null", stderr: "null" })
    .output();
  return out.success;
}

const canMountFat = Deno.build.os === "linux" && Deno.uid() === 0 &&
  await sh("command -v fusefat && command -v mkfs.vfat && test -c /dev/fuse");

/** A fresh 32 MB FAT image mounted with fusefat at `mnt`, beside a scratch folder `dir`. */
async function onFatStick(fn: (dir: string, mnt: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "ferry-fat-" });
  const mnt = join(dir, "stick");
  await Deno.mkdir(mnt);
  try {
    assert.ok(await sh(`truncate -s 32M '${dir}/fat.img' && mkfs.vfat '${dir}/fat.img'`));
    assert.ok(await sh(`fusefat -o rw+ '${dir}/fat.img' '${mnt}'`), "fusefat mounts the image");
    await fn(dir, mnt);
  } finally {
    await sh(`fusermount -u '${mnt}' || umount '${mnt}'`);
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test({
  name:
    "a FAT stick as destination: probed as 2 s and case-insensitive; the second run copies nothing",
  ignore: skipUnless(
    canMountFat,
    import.meta.url,
    "no FAT image can be mounted: fusefat, mkfs.vfat and /dev/fuse, as root on Linux",
  ),
  fn: () =>
    onFatStick(async (dir, mnt) => {
      const src = join(dir, "src");
      await Deno.mkdir(join(src, "Docs"), { recursive: true });
      for (let i = 0; i < 10; i++) {
        const p = join(src, "Docs", `Report ${i}.txt`);
        await Deno.writeTextFile(p, `report ${i}`);
        // Times with milliseconds and odd seconds: FAT keeps neither.
        await Deno.utime(p, 1_600_000_001.234 + i, 1_600_000_001.234 + i);
      }
      const stick = new LocalBackend(mnt);
      await stick.probe();
      assert.equal(stick.caps.timePrecision, 2000);
      assert.equal(stick.caps.caseInsensitive, true);
      let r = await ferry(["sync", src, join(mnt, "backup"), "--json"]);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(JSON.parse(r.stdout.trim().split("\n").at(-1)!).copied, 10);
      r = await ferry(["sync", src, join(mnt, "backup"), "--json"]);
      assert.equal(r.code, 0, r.stderr);
      const sum = JSON.parse(r.stdout.trim().split("\n").at(-1)!);
      assert.deepEqual([sum.copied, sum.updated], [0, 0], "the second run is a no-op");
    }),
});

Deno.test({
  name:
    "a FAT stick beside a Linux folder: case twins fail by name and are never deleted, in sync and in mirror",
  ignore: skipUnless(
    canMountFat,
    import.meta.url,
    "no FAT image can be mounted: fusefat, mkfs.vfat and /dev/fuse, as root on Linux",
  ),
  fn: () =>
    onFatStick(async (dir, mnt) => {
      const src = join(dir, "src");
      await Deno.mkdir(src);
      await Deno.writeTextFile(join(src, "README.txt"), "upper");
      await Deno.writeTextFile(join(src, "Readme.txt"), "mixed");
      const backup = join(mnt, "backup");
      for (let run = 0; run < 2; run++) {
        const r = await ferry(["sync", src, backup, "--state", join(dir, "s.db")]);
        assert.equal(r.code, 1, r.stderr);
        assert.match(r.stderr, /Readme\.txt: differs only by case from "README\.txt"/);
        const names = [...Deno.readDirSync(backup)].filter((e) => e.isFile).map((e) => e.name);
        assert.deepEqual(names, ["README.txt"]);
        assert.equal(await Deno.readTextFile(join(backup, "README.txt")), "upper");
      }
      // A mirror of the folder and the stick, twice: both twins stay in the folder.
      const both = join(mnt, "both");
      await Deno.mkdir(both);
      for (let pass = 0; pass < 2; pass++) {
        const r = await ferry(["mirror", src, both, "--state", join(dir, "m.db")]);
        assert.equal(r.code, 1, r.stderr);
        assert.equal(await Deno.readTextFile(join(src, "Readme.txt")), "mixed");
        assert.equal(await Deno.readTextFile(join(src, "README.txt")), "upper");
        assert.equal(await Deno.readTextFile(join(both, "README.txt")), "upper");
      }
    }),
});
