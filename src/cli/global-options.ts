import type { OptionSpecs } from "./command.js";

/** Options every command takes; each also reads the etcdctl environment variable named in it. */
export const GLOBAL_OPTIONS: OptionSpecs = {
  endpoints: {
    type: "string",
    value: "<urls>",
    description: "comma-separated client URLs (env ETCDCTL_ENDPOINTS; default 127.0.0.1:2379)",
  },
  user: {
    type: "string",
    value: "<name[:password]>",
    description: "user for auth (env ETCDCTL_USER)",
  },
  password: {
    type: "string",
    value: "<password>",
    description: "password of --user (env ETCDCTL_PASSWORD, which keeps it out of ps)",
  },
  cacert: {
    type: "string",
    value: "<file>",
    description: "CA bundle (PEM) of the server (env ETCDCTL_CACERT)",
  },
  cert: {
    type: "string",
    value: "<file>",
    description: "client certificate (PEM) for mTLS (env ETCDCTL_CERT)",
  },
  key: { type: "string", value: "<file>", description: "key (PEM) of --cert (env ETCDCTL_KEY)" },
  "insecure-skip-tls-verify": {
    type: "boolean",
    description: "accept any server certificate (env ETCDCTL_INSECURE_SKIP_TLS_VERIFY=true)",
  },
  "dial-timeout": {
    type: "string",
    value: "<duration>",
    description: "time to connect, e.g. 2s (env ETCDCTL_DIAL_TIMEOUT; default 2s)",
  },
  "command-timeout": {
    type: "string",
    value: "<duration>",
    description: "deadline of each request, e.g. 5s (env ETCDCTL_COMMAND_TIMEOUT; default 5s)",
  },
  json: { type: "boolean", description: "etcd-ts' JSON output (one document per line when streaming)" },
  "write-out": {
    type: "string",
    short: "w",
    value: "<format>",
    description: "etcdctl's output formats: simple (the default), json (etcdctl's JSON shape)",
  },
  help: { type: "boolean", short: "h", description: "show help" },
};
