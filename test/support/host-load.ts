// An artificial host load for the real-time tests: a child process spinning on another core
// for as long as the test runs, so that the emulator's clock is checked on a busy host.

import { spawn, type ChildProcess } from "node:child_process";

/** Starts the spinner; stop it with the returned function (idempotent). */
export function startHostLoad(): () => void {
  const child: ChildProcess = spawn(process.execPath, ["-e", "for (;;) {}"], { stdio: "ignore" });
  return () => {
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
  };
}
