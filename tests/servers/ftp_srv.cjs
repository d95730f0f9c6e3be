// ftp-srv (npm) for ferry's tests, run under Node: node ftp_srv.cjs PORT PASV_MIN PASV_MAX ROOT USER PASSWORD
// Prints "listening" once it accepts connections; stops on SIGTERM.
"use strict";
const { FtpSrv } = require("ftp-srv");
const [port, min, max, root, user, password] = process.argv.slice(2);
const quiet = {
  child: () => quiet,
  trace() {},
  debug() {},
  info() {},
  warn() {},
  error() {},
  fatal() {},
};
const srv = new FtpSrv({
  url: `ftp://127.0.0.1:${port}`,
  pasv_url: "127.0.0.1",
  pasv_min: Number(min),
  pasv_max: Number(max),
  anonymous: false,
  log: quiet,
});
srv.on("login", ({ username, password: given }, resolve, reject) => {
  if (username === user && given === password) resolve({ root });
  else reject(new Error("Login incorrect"));
});
srv.on("client-error", () => {});
srv.listen().then(() => console.log("listening"));
process.on("SIGTERM", () => srv.close().finally(() => process.exit(0)));
