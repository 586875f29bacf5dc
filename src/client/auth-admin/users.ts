import { Auth } from "../../gen/etcdserverpb/rpc_pb.js";
import type { AdminContext } from "../call/admin-context.js";
import type { TargetedCallOptions } from "../call-options.js";
import { InvalidArgumentError } from "../core/errors.js";
import { checkName, checkPassword } from "./names.js";

/** Options of {@link UserClient.add}. */
export interface UserAddOptions extends TargetedCallOptions {
  /**
   * Create a user that cannot authenticate with a password (only with a client certificate whose CN is
   * the user name); `password` must then be `""`. Default false.
   */
  noPassword?: boolean | undefined;
}

/** A user as `users.get()` reports it. */
export interface UserInfo {
  /** The user name. */
  name: string;
  /** The roles granted to it. */
  roles: string[];
}

/**
 * Users of etcd's auth store (`etcd.auth.users`). Passwords go to the server only: they are never part
 * of a result, an error or a log line.
 */
export class UserClient {
  readonly #ctx: AdminContext;

  /** @internal Made by `Etcd`; use `etcd.auth.users`. */
  constructor(ctx: AdminContext) {
    this.#ctx = ctx;
  }

  /** Creates user `name` with `password` (or none, with `noPassword`). */
  async add(name: string, password: string, options?: UserAddOptions): Promise<void> {
    const noPassword = options?.noPassword ?? false;
    if (noPassword && password !== "")
      throw new InvalidArgumentError("password", "must be empty when noPassword is set");
    const req = {
      name: checkName(name, "name"),
      password: noPassword ? "" : checkPassword(password),
      options: { noPassword },
    };
    await this.#ctx.caller.call({ method: Auth.method.userAdd, options }, req);
  }

  /** User `name` and its roles. */
  async get(name: string, options?: TargetedCallOptions): Promise<UserInfo> {
    const req = { name: checkName(name, "name") };
    const res = await this.#ctx.caller.call({ method: Auth.method.userGet, options }, req);
    return { name, roles: [...res.roles] };
  }

  /** Every user name, sorted as etcd keeps them. */
  async list(options?: TargetedCallOptions): Promise<string[]> {
    const res = await this.#ctx.caller.call({ method: Auth.method.userList, options }, {});
    return [...res.users];
  }

  /** Deletes user `name`. */
  async delete(name: string, options?: TargetedCallOptions): Promise<void> {
    const req = { name: checkName(name, "name") };
    await this.#ctx.caller.call({ method: Auth.method.userDelete, options }, req);
  }

  /** Sets a new password for `name` (its existing tokens stay valid until they expire). */
  async changePassword(name: string, password: string, options?: TargetedCallOptions): Promise<void> {
    const req = { name: checkName(name, "name"), password: checkPassword(password) };
    await this.#ctx.caller.call({ method: Auth.method.userChangePassword, options }, req);
  }

  /** Grants role `role` to user `name`. */
  async grantRole(name: string, role: string, options?: TargetedCallOptions): Promise<void> {
    const req = { user: checkName(name, "name"), role: checkName(role, "role") };
    await this.#ctx.caller.call({ method: Auth.method.userGrantRole, options }, req);
  }

  /** Revokes role `role` from user `name`. */
  async revokeRole(name: string, role: string, options?: TargetedCallOptions): Promise<void> {
    const req = { name: checkName(name, "name"), role: checkName(role, "role") };
    await this.#ctx.caller.call({ method: Auth.method.userRevokeRole, options }, req);
  }
}
