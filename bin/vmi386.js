#!/usr/bin/env node
// The installed `vmi386` command: runs the compiled CLI (npm run build produces dist/).
// Exit only once stdout has drained, so a guest's last serial bytes are not lost in a pipe.
import { existsSync } from "node:fs";

// Asked of the file itself: a module missing deeper down (a dependency not installed) must
// show as what it is, not as an unbuilt dist/.
const built = new URL("../dist/src/cli.js", import.meta.url);
if (!existsSync(built)) {
  process.stderr.write('vmi386: error: dist/ is missing: run "npm run build" first\n');
  process.exit(70);
}
const cli = await import(built.href);
// A reader that went away (vmi386 run k.elf | head -1) is not an error worth a stack trace: end
// as quietly as a process killed by SIGPIPE would, status 128 + 13 as a shell reports it.
process.stdout.on("error", (e) => {
  if (e.code === "EPIPE") process.exit(141);
  throw e;
});
const status = await cli.main(process.argv.slice(2));
process.stdout.write("", () => process.exit(status));
