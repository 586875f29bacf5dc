import { readFile } from "node:fs/promises";
import type { EtcdOptions, TlsOptions } from "../client/index.js";
import { parseDuration } from "./duration.js";
import { UsageError } from "./usage-error.js";

/** The connection options as given: flags (which win) and the environment. */
export interface ConnectionInput {
  /** String option values by long name (`endpoints`, `user`, `password`, `cacert`, ...). */
  readonly strings: Readonly<Record<string, string | undefined>>;
  /** True when `--insecure-skip-tls-verify` was given. */
  readonly insecureSkipTlsVerify: boolean;
  /** Where the `ETCDCTL_*` variables are read. */
  readonly env: NodeJS.ProcessEnv;
}

/** What the connection flags and variables resolve to. */
export interface ConnectionSettings {
  /** Options for `new Etcd(...)`. */
  readonly options: EtcdOptions;
  /** True when a command timeout was set: streams such as a snapshot take it as their deadline too. */
  readonly commandTimeoutGiven: boolean;
}

/** etcdctl's defaults: `--dial-timeout=2s`, `--command-timeout=5s`, endpoint `127.0.0.1:2379`. */
const DEFAULT_DIAL_MS = 2_000;
const DEFAULT_COMMAND_MS = 5_000;
const DEFAULT_ENDPOINT = "127.0.0.1:2379";

/**
 * Resolves the connection flags, each falling back to its `ETCDCTL_*` variable (an empty variable
 * counts as unset), into client options; reads the TLS files. Throws `UsageError` naming the flag or
 * variable at fault, never showing a password.
 */
export async function resolveConnection(input: ConnectionInput): Promise<ConnectionSettings> {
  const pick = (flag: string, variable: string): { value: string; from: string } | undefined => {
    const given = input.strings[flag];
    if (given !== undefined) return { value: given, from: `--${flag}` };
    const fromEnv = input.env[variable];
    return fromEnv ? { value: fromEnv, from: variable } : undefined;
  };
  const cacert = pick("cacert", "ETCDCTL_CACERT");
  const cert = pick("cert", "ETCDCTL_CERT");
  const key = pick("key", "ETCDCTL_KEY");
  const insecure =
    input.insecureSkipTlsVerify || input.env.ETCDCTL_INSECURE_SKIP_TLS_VERIFY?.toLowerCase() === "true";
  if ((cert === undefined) !== (key === undefined))
    throw new UsageError("--cert and --key go together (a client certificate and its key)");
  const tls: TlsOptions = {};
  if (cacert) tls.ca = await readPem(cacert);
  if (cert) tls.cert = await readPem(cert);
  if (key) tls.key = await readPem(key);
  if (insecure) tls.rejectUnauthorized = false;
  const secure = Object.keys(tls).length > 0;

  const listed = pick("endpoints", "ETCDCTL_ENDPOINTS") ?? { value: DEFAULT_ENDPOINT, from: "--endpoints" };
  const endpoints = listed.value
    .split(",")
    .map((e) => e.trim())
    .filter((e) => e !== "")
    .map((e) => (e.includes("://") ? e : `${secure ? "https" : "http"}://${e}`));
  if (endpoints.length === 0) throw new UsageError(`${listed.from}: no endpoint given`);

  const options: EtcdOptions = { endpoints };
  const user = pick("user", "ETCDCTL_USER");
  if (user) options.auth = credentials(user, pick("password", "ETCDCTL_PASSWORD"));
  else if (input.strings.password !== undefined) throw new UsageError("--password needs --user");
  if (secure && endpoints.some((e) => e.startsWith("https://"))) options.tls = tls;

  const dial = pick("dial-timeout", "ETCDCTL_DIAL_TIMEOUT");
  const command = pick("command-timeout", "ETCDCTL_COMMAND_TIMEOUT");
  options.connectTimeoutMs = dial ? parseDuration(dial.value, dial.from) : DEFAULT_DIAL_MS;
  options.timeoutMs = command ? parseDuration(command.value, command.from) : DEFAULT_COMMAND_MS;
  return { options, commandTimeoutGiven: command !== undefined };
}

/** `name:password` (split at the first colon) or `name` with the password given apart. */
function credentials(
  user: { value: string; from: string },
  password: { value: string; from: string } | undefined,
): { username: string; password: string } {
  const colon = user.value.indexOf(":");
  const username = colon >= 0 ? user.value.slice(0, colon) : user.value;
  if (username === "") throw new UsageError(`${user.from}: the user name is empty`);
  // An explicit --password wins over one inside ETCDCTL_USER, as flags win over variables.
  if (password && (password.from.startsWith("--") || colon < 0))
    return { username, password: password.value };
  if (colon >= 0) return { username, password: user.value.slice(colon + 1) };
  throw new UsageError(
    `${user.from}: no password for user ${JSON.stringify(username)} (use name:password, --password or ETCDCTL_PASSWORD)`,
  );
}

async function readPem(file: { value: string; from: string }): Promise<Buffer> {
  try {
    return await readFile(file.value);
  } catch (err) {
    const reason = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
    throw new UsageError(`${file.from}: cannot read ${file.value} (${reason})`);
  }
}
