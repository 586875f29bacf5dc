/**
 * Cluster, maintenance and auth administration: who is in the cluster and who leads, alarms, hashes, a
 * snapshot to a file, defragmentation, and a user scoped to one service prefix.
 * Run: `npx tsx examples/admin.ts [endpoint...]` (default http://127.0.0.1:2379). It turns auth on and
 * off again, so point it at a throwaway etcd.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { Etcd, NotSupportedError, PermissionDeniedError } from "../src/index.js";

export async function main(endpoints: string[]) {
  await using etcd = new Etcd({ endpoints });

  // Who is in the cluster, and what each member says about itself.
  const members = await etcd.cluster.list();
  for (const m of members) console.log(`member ${m.id.toString(16)} ${m.name} ${m.clientUrls.join(",")}`);
  const statuses = await etcd.maintenance.statusAll();
  for (const { endpoint, status, error } of statuses) {
    if (status)
      console.log(`${endpoint}: v${status.version} leader=${status.isLeader} db=${status.dbSize} B`);
    else console.log(`${endpoint}: ${error?.message ?? "no client URL yet"}`);
  }
  const leader = statuses.find((s) => s.status?.isLeader);

  // Health checks: alarms, and a hash of the key-value history per member (equal when in sync).
  const alarms = await etcd.maintenance.alarms();
  if (alarms.length > 0) console.log("alarms:", alarms);
  const first = statuses[0]!.endpoint!;
  const { hash, revision } = await etcd.maintenance.hashKV(first);
  console.log(`hashKV of ${first} at revision ${revision}: ${hash}`);

  // A snapshot, then a defragment of each member (one at a time: a member serves nothing meanwhile).
  const dir = await mkdtemp(join(tmpdir(), "etcd-admin-example-"));
  let snapshotBytes = 0;
  try {
    const snap = await etcd.maintenance.snapshotToFile(join(dir, "backup.db"));
    snapshotBytes = snap.bytes;
    console.log(`snapshot: ${snap.bytes} bytes in ${snap.path}`);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  for (const { endpoint } of statuses) if (endpoint) await etcd.maintenance.defragment(endpoint);

  // Calls that need a newer etcd fail with NotSupportedError.
  let authStatus: string;
  try {
    authStatus = (await etcd.auth.status()).enabled ? "enabled" : "disabled";
  } catch (err) {
    if (!(err instanceof NotSupportedError)) throw err;
    authStatus = "unknown (needs etcd >= 3.5)";
  }
  console.log(`auth: ${authStatus}`);

  // Auth: a root user, and a user that may only touch its own service's keys.
  await etcd.auth.users.add("root", "root-password");
  await etcd.auth.roles.add("root");
  await etcd.auth.users.grantRole("root", "root");
  await etcd.auth.roles.add("svc-billing");
  await etcd.auth.roles.grantPermission("svc-billing", { prefix: "services/billing/", type: "readwrite" });
  await etcd.auth.users.add("billing", "billing-password");
  await etcd.auth.users.grantRole("billing", "svc-billing");
  await etcd.auth.enable();

  let deniedElsewhere = false;
  {
    await using billing = new Etcd({
      endpoints,
      auth: { username: "billing", password: "billing-password" },
    });
    await billing.put("services/billing/instance-1", "10.0.0.7:8080");
    try {
      await billing.put("services/search/instance-1", "hijack");
    } catch (err) {
      if (!(err instanceof PermissionDeniedError)) throw err;
      deniedElsewhere = true;
      console.log("billing may not write services/search/: permission denied");
    }
  }

  // Clean up as root: auth off, the users and roles gone.
  {
    await using root = new Etcd({ endpoints, auth: { username: "root", password: "root-password" } });
    console.log("roles:", await root.auth.roles.list());
    await root.auth.disable();
  }
  await etcd.auth.users.delete("billing");
  await etcd.auth.users.delete("root");
  await etcd.auth.roles.delete("svc-billing");
  await etcd.auth.roles.delete("root");
  await etcd.delete({ prefix: "services/billing/" });

  return {
    members: members.length,
    leader: leader?.member.id,
    alarms: alarms.length,
    snapshotBytes,
    authStatus,
    deniedElsewhere,
  };
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const endpoints = process.argv.slice(2);
  console.log(await main(endpoints.length > 0 ? endpoints : ["http://127.0.0.1:2379"]));
}
