import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import type { Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from "vitest";
import { Etcd } from "../../src/index.js";
import { type EtcdCluster, startEtcd } from "../../src/testing/index.js";
import {
  crashAndRestart,
  type ProcessCluster,
  startProcessCluster,
  storeHistory,
  TOKEN_TTL_S,
  write,
} from "../process/support.js";
import { checkHistory, describeReport } from "../support/history.js";
import { callsHandled } from "../support/server-metrics.js";
import { until } from "../support/wait.js";
import type { Connection, PageEvent } from "./page/app.js";
import { findChromium, launchChromium, REQUIRE_CHROMIUM } from "./support/chromium.js";
import { WebPage } from "./support/page.js";
import { type PageServer, startPageServer } from "./support/page-server.js";
import { webBundle } from "./support/web-bundle.js";

const APP = fileURLToPath(new URL("./page/app.ts", import.meta.url));
const chromium = findChromium();
const skip = chromium.executable === undefined && !REQUIRE_CHROMIUM;

describe.skipIf(skip)(
  `etcd-ts/web in headless Chromium ${chromium.version || `(${chromium.missing})`}: a page from localhost, etcd with --cors and auth, behind a fault proxy`,
  () => {
    let browser: Browser;
    let server: PageServer;
    let pc: ProcessCluster;

    beforeAll(async () => {
      server = await startPageServer(await webBundle(APP, "browser"));
      // etcd lists the page's origin alone: the default (`--cors=*`) would let any page in.
      [browser, pc] = await Promise.all([
        launchChromium(chromium),
        startProcessCluster({
          auth: true,
          prefix: "web/",
          permission: "readwrite",
          args: [`--cors=${server.origin}`],
        }),
      ]);
    }, 120_000);

    afterAll(async () => {
      await browser?.close();
      await server?.close();
      await pc?.close();
    });

    /** A page for this test alone, closed after it (its client first); it must end with no uncaught error. */
    async function open(
      origin = server.origin,
      options: { ignoreHTTPSErrors?: boolean } = {},
    ): Promise<WebPage> {
      const page = await WebPage.open(browser, origin, options);
      onTestFinished(async () => {
        await page.call("close", {}).catch(() => {});
        await page.close();
        expect(page.errors, "uncaught errors in the page").toEqual([]);
      });
      return page;
    }

    const connection = (): Connection => ({
      endpoint: pc.proxy.url,
      username: pc.childAuth!.username,
      password: pc.childAuth!.password,
    });

    /** A page whose client (etcd-ts/web's `Etcd`) is open. */
    async function connected(): Promise<WebPage> {
      const page = await open();
      await page.call("connect", connection());
      return page;
    }

    it("CORS: etcd answers the page's origin; the browser keeps etcd's answer from any other origin", async () => {
      const allowed = await open();
      // etcd refuses the probe (auth is on, it has no token: 400 "user name is empty"); what matters is
      // that the page may read the answer.
      expect(await allowed.call("corsProbe", { endpoint: pc.proxy.url, key: "web/cors" })).toEqual({
        status: 400,
      });
      const other = await open(server.otherOrigin);
      expect(await other.call("corsProbe", { endpoint: pc.proxy.url, key: "web/cors" })).toEqual({
        error: "TypeError: Failed to fetch",
      });
    });

    it("put, get, range, delete and txn through the Etcd API", async () => {
      const page = await connected();
      const p = "web/api/";
      expect(await page.call("kv", { prefix: p })).toEqual({
        a: "1",
        b: [0, 255],
        keys: [`${p}kv/a`, `${p}kv/b`],
        deleted: "2",
        gone: true,
      });
      expect(await page.call("txn", { prefix: p })).toEqual({
        created: true,
        again: false,
        cas: true,
        value: "1",
        stale: false,
      });
      // What the page wrote is in etcd.
      expect((await pc.admin.get(`${p}txn/counter`))?.text()).toBe("1");
    });

    it("a watch across a gateway cut and an etcd restart: every revision once, in order", async () => {
      const page = await connected();
      const p = "web/watch/";
      const from = (await write(pc, `${p}start`, "s")) + 1n;
      await page.call("watch", { prefix: p, from: from.toString() });
      const writeSome = async (label: string, n: number) => {
        let revision = 0n;
        for (let i = 0; i < n; i++) revision = await write(pc, `${p}${label}${i % 3}`, `${i}`);
        await pc.admin.delete(`${p}${label}0`);
        return revision;
      };
      const before = await writeSome("before", 8);
      await page.waitFor("the watch delivering the writes made before the cut", (r) => {
        return r.type === "watch-batch" && BigInt(r.last as string) >= before;
      });
      pc.proxy.cut();
      await writeSome("during", 8);
      await until("the page reconnecting through the proxy", () => pc.proxy.connections > 0, 30_000);
      await writeSome("after", 8);
      // A restart voids the page's token too: the client must log in again and resume.
      await crashAndRestart(pc);
      await writeSome("restarted", 8);
      const end = await write(pc, `${p}end`, "e");
      const done = await page.waitFor("the watch's end", (r) => r.type === "watch-done", {
        timeoutMs: 60_000,
      });
      const delivered = (done.events as PageEvent[]).map((e) => ({ ...e, revision: BigInt(e.revision) }));
      const history = await storeHistory(pc, p, from, end);
      expect(history.length).toBeGreaterThanOrEqual(4 * 9 + 1);
      const report = checkHistory(history, delivered);
      expect(report.ok, describeReport(report)).toBe(true);
    });

    // The last two wait on timers (token and lease TTLs): they run side by side.
    it("a token that expires while the page idles: the next put, get and watch work (one refresh)", {
      concurrent: true,
    }, async () => {
      const page = await open();
      const p = "web/auth/";
      const refusedBefore = await callsHandled(pc.cluster.endpoint, "etcdserverpb.KV/Put", "Unauthenticated");
      expect(
        await page.call("authExpiry", { ...connection(), prefix: p, tokenTtlSeconds: TOKEN_TTL_S }),
      ).toEqual({ value: "2", first: [`${p}b`], second: [`${p}b`] });
      const refused = await callsHandled(pc.cluster.endpoint, "etcdserverpb.KV/Put", "Unauthenticated");
      expect(refused, "etcd never refused an expired token: the expiry path did not run").toBeGreaterThan(
        refusedBefore,
      );
    });

    it("a lease kept alive past its TTL, then revoked by another client: the page sees the loss", {
      concurrent: true,
    }, async () => {
      const page = await connected();
      const p = "web/lease/";
      // 5 s, not 2: the grant is this client's first call, so it logs in first (etcd's bcrypt: up to 1.7 s
      // on a busy 2-core machine), and the keeper counts the lease's first deadline from before that login
      // (Leases.grant takes its send time before the call): a 2 s lease was lost at once in 4 runs of 25.
      await page.call("lease", { prefix: p, ttl: 5 });
      const kept = await page.waitFor("the lease kept past its TTL", (r) => r.type === "lease-kept");
      expect(kept).toMatchObject({ present: true, state: "alive" });
      await pc.admin.lease.revoke(BigInt(kept.id as string));
      expect(await page.waitFor("the lease's loss", (r) => r.type === "lease-lost")).toMatchObject({
        error: "LeaseLostError",
        reason: "expired",
        state: "closed",
        keyGone: true,
      });
    });

    describe("over https", () => {
      let secure: EtcdCluster;
      beforeAll(async () => {
        secure = await startEtcd({ tls: true, args: [`--cors=${server.origin}`] });
      });
      afterAll(async () => {
        await secure?.close();
      });

      it("the page speaks HTTP/2 to etcd: ten watches open and a put at once, past HTTP/1.1's six connections", async () => {
        // The kit's CA is not the browser's: the page trusts any certificate.
        const page = await open(server.origin, { ignoreHTTPSErrors: true });
        await page.call("connect", { endpoint: secure.endpoint });
        const keys = Array.from({ length: 10 }, (_, i) => `web/h2/${i}`);
        // Over HTTP/1.1 the seventh request would wait for one of the first six to end: never, for watches.
        await page.call("watchKeys", { keys });
        const p = "web/h2/";
        expect(await page.call("kv", { prefix: p })).toMatchObject({ a: "1", gone: true });
        const admin = new Etcd({ endpoints: secure.endpoint, tls: { ca: readFileSync(secure.tls!.caFile) } });
        try {
          for (const key of keys) await admin.put(key, `v-${key}`);
        } finally {
          await admin.close();
        }
        for (const key of keys)
          await page.waitFor(`the event of ${key}`, (r) => r.type === "key-event" && r.key === key);
      });
    });
  },
);
