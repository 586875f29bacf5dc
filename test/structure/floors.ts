/**
 * The floors of `src/`: the one table of which code may import which, read by `imports.test.ts`.
 *
 * A file lives on the floor whose `holds` names it (the longest matching entry wins: a path ending in
 * `/` holds a folder, any other path one file). It may import files on its own floor or a lower one
 * (earlier in the list), never a higher one; and no two files, nor two folders, may import each other
 * round a circle. A new file must land on a floor: the test fails for a file no floor holds.
 *
 * Inside a floor the rooms may use each other (a txn holds KV requests, a watch reads a namespace), as
 * long as no circle forms. Generated code (`src/gen`) is the ground floor and is not itself checked.
 */
export interface Floor {
  /** What the floor is called in messages and docs. */
  readonly name: string;
  /** The folders (ending in `/`) and files it holds, relative to the repository root. */
  readonly holds: readonly string[];
  /** What belongs on it. */
  readonly what: string;
}

/** The floors, lowest first. */
export const FLOORS: readonly Floor[] = [
  {
    name: "generated",
    holds: ["src/gen/"],
    what: "protobuf-es code generated from proto/ (never edited by hand)",
  },
  {
    name: "core",
    holds: ["src/client/core/"],
    what:
      "what every floor uses and knows nothing of etcd's calls: errors, the failure rule, validation, " +
      "signals (sleep, waitSignal), backoff, lifecycle, process ref, the deadline queue, the async queue and queued iterator",
  },
  {
    name: "follower",
    holds: ["src/client/follow/"],
    what:
      "the one loop of read, watch from the read's revision + 1, re-check with backoff, report the loss, " +
      "over the read and the watch its user gives it",
  },
  {
    name: "transport",
    holds: ["src/client/transport/", "src/client/transport/h2-net/hpack/"],
    what:
      "bytes to gRPC calls: the HTTP/2 transport, the codec, endpoint addresses, the transport options; " +
      "HPACK for the node:net transport (node-free); the fetch-only transport over etcd's JSON gateway (`gateway/`)",
  },
  {
    name: "diagnostics",
    holds: ["src/client/diagnostics/"],
    what: "the diagnostics channels and the shapes of the events published on them",
  },
  {
    name: "call pipeline",
    holds: ["src/client/call/", "src/client/auth/", "src/client/call-options.ts"],
    what:
      "one call from the client to a member: pool, endpoint channel, auth token, caller and retry, " +
      "resilient streams, the options every call takes",
  },
  {
    name: "rooms",
    holds: [
      "src/client/kv/",
      "src/client/txn/",
      "src/client/lease/",
      "src/client/watch/",
      "src/client/auth-admin/",
      "src/client/cluster/",
      "src/client/maintenance/",
      "src/client/namespace/",
      "src/client/lock-service/",
    ],
    what: "one etcd service or feature each: requests, results and the objects that live on streams",
  },
  {
    name: "port",
    holds: ["src/client/port.ts"],
    what: "what the cache, the recipes and discovery use of a client (an `Etcd` or a namespace view of one)",
  },
  {
    name: "cache",
    holds: ["src/client/cache/"],
    what: "the range cache `etcd.cache()` makes: it uses the client through what the rooms offer",
  },
  {
    name: "mirror",
    holds: ["src/client/mirror/"],
    what: "the copy feed `etcd.mirror()` makes: a paged read, then the watch, through the client port",
  },
  {
    name: "client",
    holds: [
      "src/client/etcd.ts",
      "src/client/options.ts",
      "src/client/platform/",
      "src/client/node-etcd.ts",
      "src/client/web-etcd.ts",
    ],
    what:
      "the `Etcd` class and its options: builds the pipeline and hands out the rooms; the platforms it is " +
      "built on (Node's, the web's) and the `Etcd` of each",
  },
  {
    name: "recipes",
    holds: ["src/client/concurrency/", "src/client/leasing/"],
    what: "sessions, mutexes, elections, STM and the leasing KV (on a session), built on a client",
  },
  {
    name: "entry",
    holds: ["src/client/index.ts", "src/client/portable.ts", "src/index.ts"],
    what: "the package's public face (`etcd-ts`), and the part of it every runtime shares (`portable.ts`)",
  },
  {
    name: "discovery",
    holds: ["src/discovery/"],
    what: "`etcd-ts/discovery`: registration, discovery and the balanced transport",
  },
  {
    name: "adapters",
    holds: ["src/grpc-js/", "src/connect-node/", "src/otel/", "src/testing/", "src/cli/", "src/web/"],
    what:
      "other entry points built on the client: other transports, telemetry, the test kit, the CLI, " +
      "`etcd-ts/web`",
  },
];

/**
 * How code outside `src/client/` reaches the client: through its public face, or through one of the few
 * internal entry points below, each for what the public face must not show users.
 */
export const CLIENT_ENTRY_POINTS: Readonly<Record<string, string>> = {
  "src/client/index.ts": "the public API: what users of `etcd-ts` import",
  "src/client/core/index.ts":
    "the core helpers the other entry points share with the client (the failure rule and not-sent mark, " +
    "backoff and sleep, lifecycle, validation, the async queue and queued iterator): internal, so users do not come to " +
    "depend on them",
  "src/client/transport/index.ts":
    "the transport's building blocks the other HTTP/2 stacks reuse (grpc-js, connect-node and the " +
    "balanced transport): endpoint addresses, unix sockets, request headers, the transport-option defaults",
  "src/client/follow/follow.ts":
    "the one follower, which registrations share with the cache and the recipes: internal, a mechanism " +
    "of etcd-ts rather than an API of it",
  "src/client/port.ts":
    "the client port discovery takes (`EtcdPort`), its shape check and the lease-end hook it follows: " +
    "internal, what discovery needs of a client rather than an API of it",
  "src/client/portable.ts":
    "the public API every runtime shares, free of `node:` modules: what discovery and `etcd-ts/web` " +
    "import of the client (`index.ts` adds Node's `Etcd` and the HTTP/2 transport to it)",
  "src/client/web-etcd.ts": "the web platform and the `Etcd` built on it, which `etcd-ts/web` exports",
  "src/client/diagnostics/channels.ts":
    "the channels' names and shape (users get `diagnosticsChannels`, names only; registrations publish on " +
    "their client's channels, `EtcdPort._diagnostics`)",
};
