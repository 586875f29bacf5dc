#!/usr/bin/env node
// The `etcd-ts` command (package.json `bin`): see docs/cli.md.
import { runCli } from "./cli.js";
import { listenForInterrupt } from "./interrupt.js";

const interrupt = listenForInterrupt();
const code = await runCli(process.argv.slice(2), {
  stdout: process.stdout,
  stderr: process.stderr,
  env: process.env,
  signal: interrupt.signal,
});
interrupt.dispose();
// The exit code only: the process ends once stdout is flushed and the client released everything.
process.exitCode = code;
