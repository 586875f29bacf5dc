import { once } from "node:events";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { discover } from "../../src/discovery/index.js";
import { type ProcessCluster, sleep, startProcessCluster } from "../process/support.js";
import { webBundle } from "./support/web-bundle.js";
import { findWorkerd, REQUIRE_WORKERD, startWorkerd, type WorkerdServer } from "./support/workerd.js";
import { CONFIG_KEY, SERVICE, type WorkerLine } from "./worker/contract.js";

const WORKER = fileURLToPath(new URL("./worker/worker.ts", import.meta.url));
const workerd = findWorkerd();
const skip = workerd.executable === undefined && !REQUIRE_WORKERD;

/** The JSON lines of a streamed response, as they arrive. */
class Lines {
  readonly lines: WorkerLine[] = [];
  #error: unknown;
  #ended = false;
  #wake: () => void = () => {};
  readonly done: Promise<void>;

  constructor(body: ReadableStream<Uint8Array>) {
    this.done = this.#read(body);
  }

  /** The first line of `type` (from index `since` on); fails on an `error` line, the end, or after 30 s. */
  async next(type: string, since = 0): Promise<WorkerLine> {
    const deadline = Date.now() + 30_000;
    for (;;) {
      const found = this.lines.slice(since).find((l) => l.type === type || l.type === "error");
      if (found?.type === "error") throw new Error(`the Worker failed: ${String(found.message)}`);
      if (found) return found;
      if (this.#ended)
        throw new Error(`the Worker's response ended without a "${type}" line: ${String(this.#error ?? "")}`);
      if (Date.now() > deadline) throw new Error(`no "${type}" line from the Worker within 30 s`);
      await new Promise<void>((resolve) => {
        this.#wake = resolve;
        setTimeout(resolve, 1_000);
      });
    }
  }

  async #read(body: ReadableStream<Uint8Array>): Promise<void> {
    const decoder = new TextDecoder();
    let rest = "";
    try {
      for await (const chunk of body) {
        const parts = (rest + decoder.decode(chunk, { stream: true })).split("\n");
        rest = parts.pop()!;
        for (const part of parts) if (part.trim()) this.lines.push(JSON.parse(part) as WorkerLine);
        this.#wake();
      }
    } catch (err) {
      this.#error = err;
    } finally {
      this.#ended = true;
      this.#wake();
    }
  }
}

describe.skipIf(skip)(
  `etcd-ts/web in a Worker under workerd ${workerd.version || `(${workerd.missing})`}, against etcd with auth`,
  () => {
    let pc: ProcessCluster;
    let worker: WorkerdServer;

    beforeAll(async () => {
      const [started, script] = await Promise.all([
        // The Worker's user may read and write keys starting with "wk": its config and its registration.
        startProcessCluster({ auth: true, prefix: "wk", permission: "readwrite" }),
        webBundle(WORKER, "workerd"),
      ]);
      pc = started;
      worker = await startWorkerd(workerd, {
        script,
        // A deployed Worker gets these as secrets; workerd's config takes them as text bindings.
        bindings: {
          ETCD: pc.cluster.endpoint,
          ETCD_USER: pc.childAuth!.username,
          ETCD_PASSWORD: pc.childAuth!.password,
        },
      });
    }, 120_000);

    afterAll(async () => {
      await worker?.close();
      await pc?.close();
    });

    it("reads its config in a request of its own", async () => {
      await pc.admin.put(CONFIG_KEY, "hello");
      const res = await fetch(`${worker.url}/config`);
      expect(res.status, worker.logTail()).toBe(200);
      expect(await res.json()).toEqual({ value: "hello" });
    });

    it("reads its config, watches it and registers itself (kept alive past its TTL); deregisters when told to stop", async () => {
      await pc.admin.put(CONFIG_KEY, "hello");
      const view = discover(pc.admin, SERVICE);
      try {
        await view.ready;
        const added = once(view, "added");
        const res = await fetch(`${worker.url}/run?addr=worker-1`);
        expect(res.status, worker.logTail()).toBe(200);
        const lines = new Lines(res.body!);
        expect(await lines.next("config")).toMatchObject({ value: "hello" });
        const registered = await lines.next("registered");
        const [instance] = (await added) as [{ addr: string }];
        expect(instance.addr).toBe("worker-1");

        // Only the Worker's keepalives keep the 3 s lease (and the instance) past its TTL.
        await sleep(4_500);
        const { ttl } = await pc.admin.lease.timeToLive(BigInt(registered.leaseId as string));
        expect(ttl, "the Worker's registration lease expired: nothing kept it alive").toBeGreaterThan(0);
        expect(view.instances().map((i) => i.addr)).toEqual(["worker-1"]);

        // A change of the config reaches the Worker's watch.
        const { revision } = await pc.admin.put(CONFIG_KEY, "hi");
        expect(await lines.next("changed")).toEqual({
          type: "changed",
          value: "hi",
          revision: revision.toString(),
        });

        const removed = once(view, "removed");
        await pc.admin.put(CONFIG_KEY, "stop");
        await lines.next("deregistered");
        const [gone] = (await removed) as [{ addr: string }];
        expect(gone.addr).toBe("worker-1");
        await lines.next("closed");
        await lines.done;
        expect(view.instances()).toEqual([]);
        // workerd logs what a Worker threw and nobody caught (an unhandled rejection included).
        expect(worker.logTail()).not.toMatch(/uncaught/i);
      } finally {
        await view.close();
      }
    });
  },
);
