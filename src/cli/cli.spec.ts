import { describe, expect, it } from "vitest";
import { type CliIo, runCli } from "./cli.js";
import { COMMANDS } from "./commands/index.js";

/** Runs the CLI in this process with captured streams; no etcd is reached by these command lines. */
async function run(argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const stdout: string[] = [];
  const stderr: string[] = [];
  const sink = (into: string[]) => ({ write: (chunk: string) => into.push(chunk) > 0 }) as never;
  const io: CliIo = {
    stdout: sink(stdout),
    stderr: sink(stderr),
    env: {},
    signal: new AbortController().signal,
  };
  const code = await runCli(argv, io);
  return { code, stdout: stdout.join(""), stderr: stderr.join("") };
}

const PATHS = COMMANDS.flatMap((entry) =>
  "commands" in entry ? entry.commands.map((c) => `${entry.name} ${c.name}`) : [entry.name],
);

describe("runCli (in process)", () => {
  it.each(PATHS)("'%s --help' prints its usage, options and examples on stdout", async (path) => {
    const r = await run([...path.split(" "), "--help"]);
    expect(r).toMatchObject({ code: 0, stderr: "" });
    expect(r.stdout).toMatch(new RegExp(`^Usage: etcd-ts ${path}( |$)`, "m"));
    expect(r.stdout).toContain("Examples:");
    // `help <command>` says the same.
    expect((await run(["help", ...path.split(" ")])).stdout).toBe(r.stdout);
  });

  it("lists every command in the tool's help, and each group's in the group's", async () => {
    const r = await run(["--help"]);
    expect(r.code).toBe(0);
    for (const path of PATHS) expect(r.stdout).toContain(`  ${path} `);
    const lease = await run(["lease", "--help"]);
    expect(lease.stdout).toContain("Usage: etcd-ts lease <command>");
    expect(lease.stdout).toMatch(/^ {2}keep-alive {2}/m);
    // A group without its command is a usage error, with the group's help on stderr.
    const bare = await run(["lease"]);
    expect(bare.code).toBe(2);
    expect(bare.stderr).toContain("Usage: etcd-ts lease <command>");
  });

  it("prints the package's version", async () => {
    expect((await run(["--version"])).stdout).toMatch(/^etcd-ts \d+\.\d+\.\d+/);
  });

  it.each([
    [["get", "k", "extra", "more"], /get: expected <key> \[range_end\], got 3 argument/],
    [["put"], /put: expected <key> \[value\]/],
    [["lease", "grant", "0"], /<ttl>: must be at least 1, got 0/],
    [["member", "remove", "0"], /<id>: the ID must not be 0/],
    [["member", "add", "m4"], /member add: --peer-urls is required/],
    [["elect", "e"], /elect: give a <proposal> to campaign, or --listen/],
    [["elect", "e", "p", "--listen"], /elect: give a <proposal> to campaign, or --listen/],
    [["lock", "--ttl", "x", "name"], /--ttl: "x" is not a whole number/],
    [["snapshot", "save", "f.db", "--endpoints", "a:1,b:1"], /give exactly one endpoint/],
    [["get", "k", "--password", "secret"], /--password needs --user/],
    [["watch", "k", "--rev", "0"], /--rev: must be at least 1, got 0/],
  ])("%j is a usage error (exit 2, one line and a hint)", async (argv, message) => {
    const r = await run(argv);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe("");
    const [line, hint] = r.stderr.trimEnd().split("\n");
    expect(line).toMatch(message);
    expect(line).toMatch(/^etcd-ts: /);
    expect(hint).toMatch(/^Run 'etcd-ts .*--help' for usage\.$/);
    expect(r.stderr).not.toContain("secret");
  });
});
