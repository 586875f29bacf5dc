import type { DescService } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import { Auth, Cluster, KV, Lease, Maintenance, Watch } from "../../../gen/etcdserverpb/rpc_pb.js";
import { Health } from "../../../gen/grpc/health/v1/health_pb.js";
import { Election } from "../../../gen/v3electionpb/v3election_pb.js";
import { Lock } from "../../../gen/v3lockpb/v3lock_pb.js";
import { GATEWAY_PATHS, NOT_ON_GATEWAY, rpcName } from "./paths.js";

const SERVICES: DescService[] = [KV, Watch, Lease, Cluster, Maintenance, Auth, Lock, Election, Health];
const schemaMethods = SERVICES.flatMap((s) => s.methods.map(rpcName));

describe("GATEWAY_PATHS", () => {
  it("has every method of the schema, or says why the gateway cannot carry it", () => {
    const missing = schemaMethods.filter((m) => !(m in GATEWAY_PATHS) && !(m in NOT_ON_GATEWAY));
    expect(missing).toEqual([]);
    const both = schemaMethods.filter((m) => m in GATEWAY_PATHS && m in NOT_ON_GATEWAY);
    expect(both).toEqual([]);
  });

  it("names only methods of the schema", () => {
    const known = new Set(schemaMethods);
    expect(Object.keys(GATEWAY_PATHS).filter((m) => !known.has(m))).toEqual([]);
    expect(Object.keys(NOT_ON_GATEWAY).filter((m) => !known.has(m))).toEqual([]);
  });

  it("gives each method its own /v3/ path", () => {
    const paths = Object.values(GATEWAY_PATHS);
    expect(new Set(paths).size).toBe(paths.length);
    expect(paths.filter((p) => !/^\/v3\/[a-z/-]+$/.test(p))).toEqual([]);
  });
});
