import { describe, expect, it } from "vitest";
import type { Measurement } from "./measure.js";
import { baselineOf, withRatios } from "./ratios.js";

const m = (opsPerSec: number, cpuUsPerOp: number, p50Us?: number): Measurement => ({
  opsPerSec,
  cpuUsPerOp,
  ops: opsPerSec * 3,
  errors: 0,
  elapsedMs: 3000,
  ...(p50Us === undefined ? {} : { p50Us }),
});

describe("withRatios", () => {
  it("gives every client its ratios to etcd3 and to Go's client, rounded to hundredths", () => {
    const rows = withRatios({
      "etcd-ts": m(8000, 100, 250),
      etcd3: m(4000, 200, 500),
      go: m(16000, 40, 200),
    });
    expect(rows["etcd-ts"]).toMatchObject({
      opsPerSec: 8000,
      vsEtcd3: { ops: 2, cpu: 0.5, p50: 0.5 },
      vsGo: { ops: 0.5, cpu: 2.5, p50: 1.25 },
    });
    expect(rows.go!.vsGo).toEqual({ ops: 1, cpu: 1, p50: 1 });
    expect(rows.etcd3!.vsGo).toEqual({ ops: 0.25, cpu: 5, p50: 2.5 });
  });

  it("leaves out the ratios of a baseline that did not run, and p50 where it was not measured", () => {
    const rows = withRatios({ "etcd-ts": m(8000, 100), etcd3: m(4000, 200, 500) });
    expect(rows["etcd-ts"]!.vsGo).toBeUndefined();
    expect(rows["etcd-ts"]!.vsEtcd3).toEqual({ ops: 2, cpu: 0.5 });
  });

  it("compares a client with the baseline of its own server in a versions run", () => {
    expect(baselineOf("etcd-ts@3.6", "go")).toBe("go@3.6");
    expect(baselineOf("etcd-ts", "etcd3")).toBe("etcd3");
    const rows = withRatios({
      "etcd-ts@3.4": m(1000, 100),
      "go@3.4": m(2000, 50),
      "etcd-ts@3.6": m(3000, 100),
      "go@3.6": m(3000, 100),
    });
    expect(rows["etcd-ts@3.4"]!.vsGo).toEqual({ ops: 0.5, cpu: 2 });
    expect(rows["etcd-ts@3.6"]!.vsGo).toEqual({ ops: 1, cpu: 1 });
  });
});
