import { Code, ConnectError } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { AlarmType } from "../../gen/etcdserverpb/rpc_pb.js";
import {
  EtcdError,
  InvalidArgumentError,
  NotSupportedError,
  notSupportedBefore,
  toEtcdError,
} from "../core/errors.js";
import { alarmsFromWire, alarmToWire } from "./alarm.js";

describe("alarms", () => {
  it("converts both ways and drops NONE", () => {
    expect(alarmToWire("NOSPACE")).toBe(AlarmType.NOSPACE);
    expect(
      alarmsFromWire([
        { memberID: 1n, alarm: AlarmType.NOSPACE },
        { memberID: 2n, alarm: AlarmType.NONE },
        { memberID: 3n, alarm: AlarmType.CORRUPT },
      ]),
    ).toEqual([
      { memberId: 1n, alarm: "NOSPACE" },
      { memberId: 3n, alarm: "CORRUPT" },
    ]);
    expect(() => alarmToWire("FULL" as "NOSPACE")).toThrow(InvalidArgumentError);
  });
});

describe("notSupportedBefore", () => {
  it("turns UNIMPLEMENTED into NotSupportedError naming the RPC and version", () => {
    const raw = new ConnectError(
      "unknown method Downgrade for service etcdserverpb.Maintenance",
      Code.Unimplemented,
    );
    const err = notSupportedBefore(toEtcdError(raw, "http://e:1"), "Maintenance/Downgrade", "3.5");
    expect(err).toBeInstanceOf(NotSupportedError);
    expect((err as NotSupportedError).code).toBe(Code.Unimplemented);
    expect((err as NotSupportedError).endpoint).toBe("http://e:1");
    expect((err as Error).message).toMatch(
      /^Maintenance\/Downgrade is not supported by this server: it requires etcd >= 3\.5/,
    );
    expect((err as Error).cause).toBe(raw);
  });
  it("passes other errors through", () => {
    const other = new EtcdError("x", { code: Code.Unavailable });
    expect(notSupportedBefore(other, "A/B", "3.5")).toBe(other);
  });
});
