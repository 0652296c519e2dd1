#!/usr/bin/env node
// The installed `vmi386` command: runs the compiled CLI (npm run build produces dist/).
// Exit only once stdout has drained, so a guest's last serial bytes are not lost in a pipe.
let cli;
try {
  cli = await import("../dist/src/cli.js");
} catch (e) {
  if (e && e.code === "ERR_MODULE_NOT_FOUND" && String(e.message).includes("dist")) {
    process.stderr.write('vmi386: error: dist/ is missing: run "npm run build" first\n');
    process.exit(70);
  }
  throw e;
}
// A reader that went away (vmi386 run k.elf | head -1) is not an error worth a stack trace: end
// as quietly as a process killed by SIGPIPE would, status 128 + 13 as a shell reports it.
process.stdout.on("error", (e) => {
  if (e.code === "EPIPE") process.exit(141);
  throw e;
});
const status = await cli.main(process.argv.slice(2));
process.stdout.write("", () => process.exit(status));
