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
const status = await cli.main(process.argv.slice(2));
process.stdout.write("", () => process.exit(status));
