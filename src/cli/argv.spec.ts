import { describe, expect, it } from "vitest";
import { parseCommandLine, positionalIndexes } from "./argv.js";
import type { OptionSpecs } from "./command.js";
import { UsageError } from "./usage-error.js";

const OPTIONS: OptionSpecs = {
  endpoints: { type: "string", description: "" },
  json: { type: "boolean", description: "" },
  ttl: { type: "string", short: "t", description: "" },
  help: { type: "boolean", short: "h", description: "" },
};

describe("positionalIndexes", () => {
  it("skips options and the values of string options, in both spellings", () => {
    const argv = ["--endpoints", "a:1", "get", "--json", "--endpoints=b", "-t", "5", "key", "-h", "end"];
    expect(positionalIndexes(argv, OPTIONS).map((i) => argv[i])).toEqual(["get", "key", "end"]);
  });
  it("takes everything after -- as positional", () => {
    const argv = ["put", "--", "-x", "--json"];
    expect(positionalIndexes(argv, OPTIONS).map((i) => argv[i])).toEqual(["put", "-x", "--json"]);
  });
});

describe("parseCommandLine", () => {
  it("reads options and positionals", () => {
    const parsed = parseCommandLine(["k", "--json", "--ttl", "5"], OPTIONS);
    expect(parsed).toEqual({ values: { json: true, ttl: "5" }, positionals: ["k"], rest: [] });
  });
  it("hands the words after restAfter positionals over untouched (lock <name> <command...>)", () => {
    expect(parseCommandLine(["--ttl", "5", "name", "ls", "-l", "--json"], OPTIONS, 1)).toEqual({
      values: { ttl: "5" },
      positionals: ["name"],
      rest: ["ls", "-l", "--json"],
    });
    expect(parseCommandLine(["name", "--", "ls", "-l"], OPTIONS, 1).rest).toEqual(["ls", "-l"]);
    expect(parseCommandLine(["name"], OPTIONS, 1).rest).toEqual([]);
  });
  it("turns parseArgs' errors into one-line usage errors", () => {
    expect(() => parseCommandLine(["--nope"], OPTIONS)).toThrow(UsageError);
    expect(() => parseCommandLine(["--nope"], OPTIONS)).toThrow(/^Unknown option '--nope'$/);
    expect(() => parseCommandLine(["--ttl"], OPTIONS)).toThrow(
      /^Option '-t, --ttl <value>' argument missing$/,
    );
    expect(() => parseCommandLine(["--json=yes"], OPTIONS)).toThrow(
      /^Option '--json' does not take an argument$/,
    );
  });
});
