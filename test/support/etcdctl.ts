import { execFile } from "node:child_process";
import { promisify } from "node:util";

const run = promisify(execFile);

/** Runs `etcdctl` (v3 API) against `endpoint`; resolves with stdout, rejects with stderr in the message. */
export async function etcdctl(endpoint: string, args: string[], extra: string[] = []): Promise<string> {
  try {
    const { stdout } = await run("etcdctl", [`--endpoints=${endpoint}`, ...extra, ...args], {
      env: { ...process.env, ETCDCTL_API: "3" },
      timeout: 20_000,
    });
    return stdout;
  } catch (err) {
    const e = err as Error & { stderr?: string };
    throw new Error(`etcdctl ${args.join(" ")} failed: ${e.stderr ?? e.message}`);
  }
}

/** What {@link enableAuth} sets up. */
export interface AuthSetup {
  /** The root user's password. */
  rootPassword: string;
  /** One role, its grants (`[permission, key prefix]`) and the users (name, password) that have it. */
  role?: {
    name: string;
    grants: ["read" | "write" | "readwrite", string][];
    users: { username: string; password: string }[];
  };
}

/** Turns auth on at `endpoint` with etcdctl: a root user, then (optionally) one role and its users. */
export async function enableAuth(endpoint: string, setup: AuthSetup): Promise<void> {
  await etcdctl(endpoint, ["user", "add", `root:${setup.rootPassword}`]);
  const role = setup.role;
  if (role) {
    await etcdctl(endpoint, ["role", "add", role.name]);
    for (const [permission, prefix] of role.grants)
      await etcdctl(endpoint, ["role", "grant-permission", role.name, "--prefix=true", permission, prefix]);
    for (const user of role.users) {
      await etcdctl(endpoint, ["user", "add", `${user.username}:${user.password}`]);
      await etcdctl(endpoint, ["user", "grant-role", user.username, role.name]);
    }
  }
  await etcdctl(endpoint, ["auth", "enable"]);
}
