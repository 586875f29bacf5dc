import { AlarmType as WireAlarmType } from "../../gen/etcdserverpb/rpc_pb.js";
import { InvalidArgumentError } from "../core/errors.js";
import type { AlarmInfo, AlarmType } from "./types.js";

const BY_NAME: Readonly<Record<AlarmType, WireAlarmType>> = {
  NOSPACE: WireAlarmType.NOSPACE,
  CORRUPT: WireAlarmType.CORRUPT,
};

/** The wire value of an alarm name, validated. */
export function alarmToWire(alarm: AlarmType, field = "alarm"): WireAlarmType {
  const wire = BY_NAME[alarm];
  if (wire === undefined) throw new InvalidArgumentError(field, `unknown alarm ${JSON.stringify(alarm)}`);
  return wire;
}

/** Converts the wire alarm list, dropping NONE entries. */
export function alarmsFromWire(alarms: readonly { memberID: bigint; alarm: WireAlarmType }[]): AlarmInfo[] {
  const out: AlarmInfo[] = [];
  for (const a of alarms) {
    if (a.alarm === WireAlarmType.NOSPACE) out.push({ memberId: a.memberID, alarm: "NOSPACE" });
    else if (a.alarm === WireAlarmType.CORRUPT) out.push({ memberId: a.memberID, alarm: "CORRUPT" });
  }
  return out;
}
