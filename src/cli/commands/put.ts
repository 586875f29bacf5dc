import type { Command } from "../command.js";
import { putJson } from "../etcdctl-json.js";
import { parseHexId } from "../ids.js";

/** Reads all of stdin (the value of `put key` without a value argument). */
async function readStdin(): Promise<Uint8Array> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** `etcd-ts put`: writes a key. */
export const put: Command = {
  name: "put",
  summary: "Write a key (the value from stdin when it is not given)",
  usage: "<key> [value]",
  args: { min: 1, max: 2 },
  etcdctlJson: true,
  options: {
    lease: { type: "string", value: "<id>", description: "attach the key to this lease (hexadecimal ID)" },
    "prev-kv": { type: "boolean", description: "print the key-value it replaced" },
    "ignore-value": { type: "boolean", description: "keep the current value (only the lease changes)" },
    "ignore-lease": { type: "boolean", description: "keep the current lease (only the value changes)" },
  },
  details:
    "Prints OK (then, with --prev-kv, the previous key and value). A value that starts with '-' goes\n" +
    "after '--'. With --json: { revision, prevKv }.",
  examples: [
    "etcd-ts put greeting hello",
    "etcd-ts put session/a alive --lease 694d7b5f2a3b8c0a",
    "etcd-ts put config/app.json < app.json",
    "etcd-ts put offset -- -5",
  ],
  async run(ctx) {
    const [key, given] = ctx.args as [string, string | undefined];
    const ignoreValue = ctx.flag("ignore-value");
    const value = given ?? (ignoreValue ? "" : await readStdin());
    const lease = ctx.string("lease");
    const result = await ctx.etcd().put(key, value, {
      ...(lease !== undefined ? { lease: parseHexId(lease, "--lease") } : {}),
      prevKv: ctx.flag("prev-kv"),
      ignoreValue,
      ignoreLease: ctx.flag("ignore-lease"),
      signal: ctx.signal,
    });
    if (ctx.out.etcdctlJson) ctx.out.etcdctlDocument(putJson(ctx.headers.latest, result.prevKv));
    else if (ctx.out.json) ctx.out.document({ revision: result.revision, prevKv: result.prevKv ?? null });
    else {
      ctx.out.line("OK");
      if (result.prevKv) ctx.out.line(`${result.prevKv.keyText()}\n${result.prevKv.text()}`);
    }
    return 0;
  },
};
