import { Auth } from "../../gen/etcdserverpb/rpc_pb.js";
import type { AdminContext } from "../call/admin-context.js";
import type { TargetedCallOptions } from "../call-options.js";
import { notSupportedBefore } from "../core/errors.js";
import { RoleClient } from "./roles.js";
import { UserClient } from "./users.js";

/** What `AuthStatus` reports (etcd >= 3.5). */
export interface AuthStatus {
  /** Whether auth is enabled. */
  enabled: boolean;
  /** Revision of the auth store (bumped by every user/role change). */
  authRevision: bigint;
}

/**
 * Auth management (`etcd.auth`): turn auth on and off, and manage `users` and `roles`. With auth on,
 * these calls need a client authenticated as a user with the `root` role.
 */
export class AuthClient {
  readonly #ctx: AdminContext;
  /** Users: add, get, list, delete, changePassword, grantRole, revokeRole. */
  readonly users: UserClient;
  /** Roles: add, get, list, delete, grantPermission, revokePermission. */
  readonly roles: RoleClient;

  /** @internal Made by `Etcd`; use `etcd.auth`. */
  constructor(ctx: AdminContext) {
    this.#ctx = ctx;
    this.users = new UserClient(ctx);
    this.roles = new RoleClient(ctx);
  }

  /**
   * Turns auth on. etcd requires a user `root` with the role `root` first. Afterwards every call needs
   * credentials: a client without `auth` fails, including the one that enabled it.
   */
  async enable(options?: TargetedCallOptions): Promise<void> {
    await this.#ctx.caller.call({ method: Auth.method.authEnable, options }, {});
  }

  /**
   * Turns auth off (needs the `root` role). The calling client's token is then refused as invalid and
   * re-authentication fails, so use a client without `auth` afterwards.
   */
  async disable(options?: TargetedCallOptions): Promise<void> {
    await this.#ctx.caller.call({ method: Auth.method.authDisable, options }, {});
  }

  /** Whether auth is on, and the auth store revision. etcd 3.4 answers `NotSupportedError`. */
  async status(options?: TargetedCallOptions): Promise<AuthStatus> {
    try {
      const res = await this.#ctx.caller.call({ method: Auth.method.authStatus, options }, {});
      return { enabled: res.enabled, authRevision: res.authRevision };
    } catch (err) {
      throw notSupportedBefore(err, "Auth/AuthStatus", "3.5");
    }
  }
}
