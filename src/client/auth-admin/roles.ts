import { Auth } from "../../gen/etcdserverpb/rpc_pb.js";
import type { AdminContext } from "../call/admin-context.js";
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
    await this.#ctx.caller.call({ method: Auth.method.roleAdd, options }, { name: checkName(name, "name") });
  }

  /** Role `name` and its permissions. */
  async get(name: string, options?: TargetedCallOptions): Promise<RoleInfo> {
    const req = { role: checkName(name, "name") };
    const res = await this.#ctx.caller.call({ method: Auth.method.roleGet, options }, req);
    return { name, permissions: res.perm.map(permissionFromWire) };
  }

  /** Every role name. */
  async list(options?: TargetedCallOptions): Promise<string[]> {
    const res = await this.#ctx.caller.call({ method: Auth.method.roleList, options }, {});
    return [...res.roles];
  }

  /** Deletes role `name` (users that had it lose it). */
  async delete(name: string, options?: TargetedCallOptions): Promise<void> {
    const req = { role: checkName(name, "name") };
    await this.#ctx.caller.call({ method: Auth.method.roleDelete, options }, req);
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
    await this.#ctx.caller.call({ method: Auth.method.roleGrantPermission, options }, req);
  }

  /** Revokes the permission `role` holds on exactly this key or range (as it was granted). */
  async revokePermission(
    role: string,
    range: Bytes | KeyRange,
    options?: TargetedCallOptions,
  ): Promise<void> {
    const { key, rangeEnd } = rangeBounds(range);
    const req = { role: checkName(role, "role"), key, rangeEnd };
    await this.#ctx.caller.call({ method: Auth.method.roleRevokePermission, options }, req);
  }
}
