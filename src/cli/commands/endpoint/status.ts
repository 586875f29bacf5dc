import { type EndpointStatus, toEtcdError } from "../../../client/index.js";
import type { Command } from "../../command.js";
import { endpointStatusJson } from "../../etcdctl-json.js";
import { hexId } from "../../ids.js";
import { formatBytes } from "../../output.js";
import { CLUSTER_OPTION, targetEndpoints } from "./targets.js";

/** `etcd-ts endpoint status`. */
export const endpointStatus: Command = {
  name: "status",
  summary: "Show each endpoint's status: member, version, DB size, leader, raft indexes",
  usage: "",
  args: { min: 0, max: 0 },
  options: CLUSTER_OPTION,
  etcdctlJson: true,
  details:
    "A table with a row per endpoint: ENDPOINT, ID, VERSION, DB SIZE, DB IN USE, LEADER, LEARNER,\n" +
    "RAFT TERM, RAFT INDEX, APPLIED INDEX, ERRORS. An endpoint that does not answer gets its error in the\n" +
    "ERRORS column and the exit code is 1. With --json: [{ endpoint, status } | { endpoint, error }].",
  examples: ["etcd-ts endpoint status --cluster", "etcd-ts endpoint status --endpoints a:2379,b:2379 --json"],
  async run(ctx) {
    const etcd = ctx.etcd();
    const endpoints = await targetEndpoints(ctx);
    const results = await Promise.all(
      endpoints.map(
        async (endpoint): Promise<{ endpoint: string; status?: EndpointStatus; error?: string }> => {
          try {
            return { endpoint, status: await etcd.maintenance.status(endpoint, { signal: ctx.signal }) };
          } catch (err) {
            return { endpoint, error: toEtcdError(err).serverMessage };
          }
        },
      ),
    );
    if (ctx.out.etcdctlJson) {
      // As etcdctl: the members that answered; the others on stderr.
      const answered = results.flatMap(({ endpoint, status }) =>
        status ? [endpointStatusJson(endpoint, ctx.headers.of(endpoint), status)] : [],
      );
      ctx.out.etcdctlDocument(answered);
      for (const r of results)
        if (r.error !== undefined)
          ctx.out.note(`etcd-ts: failed to get the status of ${r.endpoint}: ${r.error}`);
    } else if (ctx.out.json) ctx.out.document(results);
    else
      ctx.out.table(
        [
          "endpoint",
          "id",
          "version",
          "db size",
          "db in use",
          "leader",
          "learner",
          "raft term",
          "raft index",
          "applied index",
          "errors",
        ],
        results.map(({ endpoint, status: s, error }) =>
          s
            ? [
                endpoint,
                hexId(s.memberId),
                s.version,
                formatBytes(s.dbSize),
                formatBytes(s.dbSizeInUse),
                String(s.isLeader),
                String(s.isLearner),
                s.raftTerm.toString(),
                s.raftIndex.toString(),
                s.raftAppliedIndex.toString(),
                s.errors.join("; "),
              ]
            : [endpoint, "", "", "", "", "", "", "", "", "", error ?? ""],
        ),
      );
    return results.some((r) => r.error !== undefined) ? 1 : 0;
  },
};
