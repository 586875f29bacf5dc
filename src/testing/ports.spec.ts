import { readFileSync } from "node:fs";
import { createServer } from "node:net";
import { describe, expect, it } from "vitest";
import { freePort } from "./ports.js";

describe("freePort", () => {
  it("returns distinct bindable ports below the ephemeral range", async () => {
    const ports = new Set<number>();
    for (let i = 0; i < 20; i++) ports.add(await freePort());
    expect(ports.size).toBe(20);
    const ephemeralStart = Number(
      readFileSync("/proc/sys/net/ipv4/ip_local_port_range", "utf8").trim().split(/\s+/)[0],
    );
    for (const port of ports) {
      expect(port).toBeGreaterThanOrEqual(20_000);
      expect(port).toBeLessThan(ephemeralStart);
    }
    const port = [...ports][0]!;
    const server = createServer();
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(port, "127.0.0.1", resolve);
    });
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  it("never hands out one port twice in a process, even to calls made at once (a cluster's members)", async () => {
    // 2,000 draws from ~12,000 candidates: without the process's memory, ~150 repeats are expected.
    const ports = await Promise.all(Array.from({ length: 1_000 }, () => freePort()));
    expect(new Set(ports).size).toBe(1_000);
    const more = await Promise.all(Array.from({ length: 1_000 }, () => freePort()));
    expect(new Set([...ports, ...more]).size).toBe(2_000);
  });
});
