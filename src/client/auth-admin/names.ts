import { InvalidArgumentError } from "../core/errors.js";

/** Rejects an empty or non-string user or role name (etcd refuses it only after a raft round). */
export function checkName(name: string, field: string): string {
  if (typeof name !== "string" || name === "")
    throw new InvalidArgumentError(field, "must be a non-empty string");
  return name;
}

/** Rejects a password that is not a non-empty string, without ever putting it in the message. */
export function checkPassword(password: string, field = "password"): string {
  if (typeof password !== "string" || password === "")
    throw new InvalidArgumentError(
      field,
      "must be a non-empty string (use noPassword for a user without one)",
    );
  return password;
}
