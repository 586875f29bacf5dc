import type { MemberInfo } from "./member.js";

/**
 * The `--initial-cluster` value a newly added member must start with (as `etcdctl member add` prints
 * it): every member of `members` (the list a `MemberAdd` returned) as `name=peerUrl`, the new member
 * (which has no name until it starts) under `newName`. Members that have not started yet have no name
 * either; they are left out, as etcdctl does.
 */
export function initialCluster(members: readonly MemberInfo[], newMemberId: bigint, newName: string): string {
  const entries: string[] = [];
  for (const m of members) {
    const name = m.id === newMemberId ? newName : m.name;
    if (name === "") continue;
    for (const url of m.peerUrls) entries.push(`${name}=${url}`);
  }
  return entries.join(",");
}
