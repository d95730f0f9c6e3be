/**
 * FTP listings as servers send them (recorded from vsftpd, pure-ftpd, proFTPD, ftp-srv, IIS and
 * FileZilla Server): names with spaces and Unicode, symbolic links, dates with and without a
 * year, DOS dates in both clocks, MLSD facts in any case and order.
 *
 * @module
 */
import assert from "node:assert/strict";
import { parseListing } from "../../lib/backends/ftp/listing.ts";

const NOW = Date.UTC(2026, 10, 26, 18, 0);
const MIN = 60_000;
const DAY = 86_400_000;

function one(line: string, now = NOW) {
  const unparsed: string[] = [];
  const items = parseListing(line + "\r\n", now, unparsed);
  assert.deepEqual(unparsed, [], line);
  assert.equal(items.length, 1, line);
  return items[0]!;
}

Deno.test("ftp listing: vsftpd (numeric owners, a date with a time, a date with a year)", () => {
  const text = "drwxr-xr-x    2 1        1            4096 Nov 26 17:44 sub\r\n" +
    "-rw-r--r--    1 1        1               3 Nov 26 17:42 .hidden\r\n" +
    "-rw-r--r--    1 1        1               7 Jan 01  2024 f 1.txt\r\n";
  const items = parseListing(text, NOW);
  assert.deepEqual(items.map((i) => [i.name, i.kind, i.size]), [
    ["sub", "dir", 4096],
    [".hidden", "file", 3],
    ["f 1.txt", "file", 7],
  ]);
  assert.equal(items[1]!.time, Date.UTC(2026, 10, 26, 17, 42));
  assert.equal(items[1]!.precision, MIN);
  assert.equal(items[2]!.time, Date.UTC(2024, 0, 1));
  assert.equal(items[2]!.precision, DAY);
  assert.equal(items[2]!.raw, "Jan 01 2024");
});

Deno.test("ftp listing: pure-ftpd LIST and proFTPD names with brackets, spaces and Unicode", () => {
  assert.deepEqual(
    (({ name, size, time }) => ({ name, size, time }))(
      one("-rw-r--r--    1 65534      nogroup             5 Jan  2  2020 a b.txt"),
    ),
    { name: "a b.txt", size: 5, time: Date.UTC(2020, 0, 2) },
  );
  assert.equal(
    one("-rw-r--r--   1 ftp      ftp          1234 Mar  4 09:12 report (final) [v2].pdf").name,
    "report (final) [v2].pdf",
  );
  assert.equal(
    one("-rw-r--r-- 1 u g 9 Oct 10 10:10 日本語 ファイル.txt").name,
    "日本語 ファイル.txt",
  );
  // Leading and doubled spaces belong to the name: one space separates it from the time.
  assert.equal(one("-rw-r--r-- 1 u g 9 Oct 10 10:10   spaced  out ").name, "  spaced  out ");
  assert.equal(one("-rw-r--r-- 1 u g 9 Oct 10  2019   old").name, "  old");
});

Deno.test("ftp listing: ftp-srv and servers that omit the group or use ISO dates", () => {
  const a = one("-rw-r--r-- 1 1 1            5 Nov 26 17:40 a b.txt");
  assert.deepEqual([a.name, a.size, a.time], ["a b.txt", 5, Date.UTC(2026, 10, 26, 17, 40)]);
  const b = one("-rw-r--r-- 1 owner 123 Oct 10 10:10 nogroup.txt");
  assert.deepEqual([b.name, b.size], ["nogroup.txt", 123]);
  const c = one("-rw-r--r-- 1 owner group 77 2025-03-04 05:06 iso name.txt");
  assert.deepEqual([c.name, c.size, c.time], ["iso name.txt", 77, Date.UTC(2025, 2, 4, 5, 6)]);
});

Deno.test("ftp listing: a year-less date after today is last year's", () => {
  const now = Date.UTC(2026, 0, 5, 12, 0);
  assert.equal(one("-rw-r--r-- 1 u g 1 Dec 30 23:59 x", now).time, Date.UTC(2025, 11, 30, 23, 59));
  assert.equal(one("-rw-r--r-- 1 u g 1 Jan  5 11:00 y", now).time, Date.UTC(2026, 0, 5, 11, 0));
  // A day of slack for clocks and zones: tomorrow is still this year.
  assert.equal(one("-rw-r--r-- 1 u g 1 Jan  6 01:00 z", now).time, Date.UTC(2026, 0, 6, 1, 0));
});

Deno.test("ftp listing: symbolic links and special files are told apart", () => {
  const l = one("lrwxrwxrwx    1 0        0              11 Nov 26 17:44 latest -> releases/v2");
  assert.deepEqual([l.kind, l.name, l.target], ["link", "latest", "releases/v2"]);
  assert.equal(one("prw-r--r-- 1 u g 0 Nov 26 17:44 fifo").kind, "other");
  assert.equal(one("drwxrwxrwt 2 u g 4096 Nov 26 17:44 sticky").kind, "dir");
  assert.equal(one("-rw-r--r--+ 1 u g 3 Nov 26 17:44 acl.txt").name, "acl.txt");
});

Deno.test("ftp listing: IIS and FileZilla Server DOS lines, both clocks, two- and four-digit years", () => {
  const text = "11-26-26  05:38PM       <DIR>          My Documents\r\n" +
    "11-26-26  12:05AM                 1234 report.txt\r\n" +
    "01-02-2026  13:38                   10 r 2.txt\r\n" +
    "03-04-99  12:00PM                    1 old.txt\r\n";
  const items = parseListing(text, NOW);
  assert.deepEqual(items.map((i) => [i.name, i.kind, i.size, i.time]), [
    ["My Documents", "dir", 0, Date.UTC(2026, 10, 26, 17, 38)],
    ["report.txt", "file", 1234, Date.UTC(2026, 10, 26, 0, 5)],
    ["r 2.txt", "file", 10, Date.UTC(2026, 0, 2, 13, 38)],
    ["old.txt", "file", 1, Date.UTC(1999, 2, 4, 12, 0)],
  ]);
  assert.ok(items.every((i) => i.precision === MIN));
});

Deno.test("ftp listing: MLSD facts in any case and order, fractions, own folders left out", () => {
  const text = "type=cdir;sizd=4096;modify=20261126174052; .\r\n" +
    "modify=20261126174052;perm=r;type=pdir; ..\r\n" +
    "Type=file;Size=5;Modify=20261126174052;UNIX.mode=0644;unique=fe00g2aa047; a b.txt\r\n" +
    "type=dir;modify=20250102030405;unique=fe00g2; sub dir\r\n" +
    "modify=20260101000000.5;size=3;type=file; frac\r\n" +
    "type=OS.unix=symlink;size=3;modify=20260101000000; ln\r\n" +
    "type=file;size=1;modify=20260101000000;  leading space\r\n";
  const unparsed: string[] = [];
  const items = parseListing(text, NOW, unparsed);
  assert.deepEqual(unparsed, []);
  assert.deepEqual(items.map((i) => [i.name, i.kind, i.size, i.time, i.precision]), [
    ["a b.txt", "file", 5, Date.UTC(2026, 10, 26, 17, 40, 52), 1000],
    ["sub dir", "dir", 0, Date.UTC(2025, 0, 2, 3, 4, 5), 1000],
    ["frac", "file", 3, Date.UTC(2026, 0, 1, 0, 0, 0, 500), 1],
    ["ln", "link", 3, Date.UTC(2026, 0, 1), 1000],
    [" leading space", "file", 1, Date.UTC(2026, 0, 1), 1000],
  ]);
  assert.equal(items[0]!.unique, "fe00g2aa047");
});

Deno.test("ftp listing: 'total' and blank lines are no entries; a line of no known form is reported", () => {
  const unparsed: string[] = [];
  const items = parseListing(
    "total 12\r\n\r\n-rw-r--r-- 1 u g 1 Nov 26 17:44 ok\r\nWHAT IS THIS 12 name\r\n",
    NOW,
    unparsed,
  );
  assert.deepEqual(items.map((i) => i.name), ["ok"]);
  assert.deepEqual(unparsed, ["WHAT IS THIS 12 name"]);
});
