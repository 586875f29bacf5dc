import { describe, expect, it } from "vitest";
import { formatBytes, formatTable, Output, toJsonLine } from "./output.js";

function collector(isTTY = false) {
  const chunks: string[] = [];
  return { stream: { isTTY, write: (chunk: string) => chunks.push(chunk) > 0 }, text: () => chunks.join("") };
}

describe("output", () => {
  it("aligns table columns under upper-case headings, one line per row", () => {
    const table = formatTable(
      ["id", "name", "urls"],
      [
        ["8e9e05c52164694d", "m0", "http://a:2379"],
        ["1", "line\nbreak", ""],
      ],
    );
    expect(table.split("\n")).toEqual([
      "ID                NAME         URLS",
      "8e9e05c52164694d  m0           http://a:2379",
      "1                 line\\nbreak",
    ]);
  });

  it("writes bigints as decimal strings in JSON", () => {
    expect(toJsonLine({ revision: 2n ** 63n - 1n, list: [1n], text: "x" })).toBe(
      '{"revision":"9223372036854775807","list":["1"],"text":"x"}',
    );
  });

  it("formats byte counts", () => {
    expect([0, 512, 20_480, 1_572_864, 5 * 1024 ** 3].map(formatBytes)).toEqual([
      "0 B",
      "512 B",
      "20 KiB",
      "1.5 MiB",
      "5 GiB",
    ]);
  });

  it("rewrites progress in place on a terminal and ends it before the next output", () => {
    const stdout = collector();
    const stderr = collector(true);
    const out = new Output({ stdout: stdout.stream as never, stderr: stderr.stream as never }, "human");
    out.progress("received 1 KiB");
    out.progress("received 2 KiB");
    out.line("done");
    expect(stderr.text()).toBe("\r\x1b[Kreceived 1 KiB\r\x1b[Kreceived 2 KiB\n");
    expect(stdout.text()).toBe("done\n");
    const plain = collector();
    const piped = new Output({ stdout: stdout.stream as never, stderr: plain.stream as never }, "json");
    piped.progress("received 1 KiB");
    piped.document({ n: 1n });
    expect(plain.text()).toBe("received 1 KiB\n");
    expect(stdout.text()).toBe('done\n{"n":"1"}\n');
  });
});
