import { Auth } from "../../gen/etcdserverpb/rpc_pb.js";
import { type AdminContext, callByTable } from "../call/admin-context.js";
import type { TargetedCallOptions } from "../call-options.js";
import type { Bytes } from "../kv/bytes.js";
import { rangeBounds } from "../kv/requests.js";
import type { KeyRange } from "../kv/types.js";
import { checkName } from "./names.js";
import { type Permission, type PermissionInit, permissionFromWire, permissionToWire } from "./permission.js";

/** A role as `roles.get()` reports it. */
export interface RoleInfo {
  /** The role name. */
  name: string;
  /** Its permissions. */
  permissions: Permission[];
}

/** Roles of etcd's auth store and their key permissions (`etcd.auth.roles`). */
export class RoleClient {
  readonly #ctx: AdminContext;

  /** @internal Made by `Etcd`; use `etcd.auth.roles`. */
  constructor(ctx: AdminContext) {
    this.#ctx = ctx;
  }

  /** Creates role `name` (without permissions). */
  async add(name: string, options?: TargetedCallOptions): Promise<void> {
    await callByTable(
      this.#ctx,
      Auth.method.roleAdd,
      { name: checkName(name, "name") },
      options,
      this.#ctx.requireLeader,
    );
  }

  /** Role `name` and its permissions. */
  async get(name: string, options?: TargetedCallOptions): Promise<RoleInfo> {
    const req = { role: checkName(name, "name") };
    const res = await callByTable(this.#ctx, Auth.method.roleGet, req, options, this.#ctx.requireLeader);
    return { name, permissions: res.perm.map(permissionFromWire) };
  }

  /** Every role name. */
  async list(options?: TargetedCallOptions): Promise<string[]> {
    const res = await callByTable(this.#ctx, Auth.method.roleList, {}, options, this.#ctx.requireLeader);
    return [...res.roles];
  }

  /** Deletes role `name` (users that had it lose it). */
  async delete(name: string, options?: TargetedCallOptions): Promise<void> {
    const req = { role: checkName(name, "name") };
    await callByTable(this.#ctx, Auth.method.roleDelete, req, options, this.#ctx.requireLeader);
  }

  /**
   * Grants `role` a permission on a key, `{ prefix }`, `{ key, end }` or `{ fromKey }`:
   * `grantPermission("reader", { prefix: "a/", type: "read" })`.
   */
  async grantPermission(
    role: string,
    permission: PermissionInit,
    options?: TargetedCallOptions,
  ): Promise<void> {
    const req = { name: checkName(role, "role"), perm: permissionToWire(permission) };
    await callByTable(this.#ctx, Auth.method.roleGrantPermission, req, options, this.#ctx.requireLeader);
  }

  /** Revokes the permission `role` holds on exactly this key or range (as it was granted). */
  async revokePermission(
    role: string,
    range: Bytes | KeyRange,
    options?: TargetedCallOptions,
  ): Promise<void> {
    const { key, rangeEnd } = rangeBounds(range);
    const req = { role: checkName(role, "role"), key, rangeEnd };
    await callByTable(this.#ctx, Auth.method.roleRevokePermission, req, options, this.#ctx.requireLeader);
  }
}
