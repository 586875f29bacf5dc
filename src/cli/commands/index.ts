import type { Command, CommandGroup } from "../command.js";
import { del } from "./del.js";
import { elect } from "./elect.js";
import { endpointHealth } from "./endpoint/health.js";
import { endpointStatus } from "./endpoint/status.js";
import { get } from "./get.js";
import { leaseGrant } from "./lease/grant.js";
import { leaseKeepAlive } from "./lease/keep-alive.js";
import { leaseList } from "./lease/list.js";
import { leaseRevoke } from "./lease/revoke.js";
import { leaseTtl } from "./lease/ttl.js";
import { lock } from "./lock.js";
import { makeMirror } from "./make-mirror.js";
import { memberAdd } from "./member/add.js";
import { memberPromote, memberRemove } from "./member/change.js";
import { memberList } from "./member/list.js";
import { put } from "./put.js";
import { servicesList } from "./services/list.js";
import { servicesWatch } from "./services/watch.js";
import { snapshotSave } from "./snapshot/save.js";
import { watch } from "./watch.js";

/** Every command of `etcd-ts`, in the order `--help` lists them. */
export const COMMANDS: readonly (Command | CommandGroup)[] = [
  get,
  put,
  del,
  watch,
  {
    name: "lease",
    summary: "Leases: grant, revoke, ttl, list, keep-alive",
    commands: [leaseGrant, leaseRevoke, leaseTtl, leaseList, leaseKeepAlive],
  },
  {
    name: "member",
    summary: "Cluster membership: list, add, remove, promote",
    commands: [memberList, memberAdd, memberRemove, memberPromote],
  },
  {
    name: "endpoint",
    summary: "Per-endpoint checks: status, health",
    commands: [endpointStatus, endpointHealth],
  },
  { name: "snapshot", summary: "Snapshots of a member's database", commands: [snapshotSave] },
  lock,
  elect,
  makeMirror,
  {
    name: "services",
    summary: "Registered service instances (etcd-ts/discovery): list, watch",
    commands: [servicesList, servicesWatch],
  },
];
