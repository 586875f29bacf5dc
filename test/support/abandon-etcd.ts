// Run as a child process by testing-kit.test.ts: starts etcd, prints its pid and temp dir, then
// leaves without close(), either through process.exit() ("exit") or by waiting to be SIGKILLed ("hang").
import { startEtcd } from "../../src/testing/index.js";

const mode = process.argv[2] ?? "exit";
const cluster = await startEtcd();
process.stdout.write(`${JSON.stringify({ pid: cluster.members[0]!.pid, root: cluster.root })}\n`);
if (mode === "exit") process.exit(0);
setInterval(() => {}, 60_000);
