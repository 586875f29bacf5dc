import { fileURLToPath } from "node:url";
import type { Browser } from "playwright-core";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { type ProcessCluster, startProcessCluster, write } from "../process/support.js";
import { findChromium, launchChromium, REQUIRE_CHROMIUM } from "./support/chromium.js";
import { WebPage } from "./support/page.js";
import { type PageServer, startPageServer } from "./support/page-server.js";
import { webBundle } from "./support/web-bundle.js";

const APP = fileURLToPath(new URL("./page/app.ts", import.meta.url));
const chromium = findChromium();
const skip = chromium.executable === undefined && !REQUIRE_CHROMIUM;

describe.skipIf(skip)(
  `etcd-ts/web in headless Chromium ${chromium.version || `(${chromium.missing})`}, a page from localhost against etcd with --cors`,
  () => {
    let browser: Browser;
    let server: PageServer;
    let pc: ProcessCluster;
    const pages: WebPage[] = [];

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

    afterEach(async () => {
      const open = pages.splice(0);
      const errors = open.flatMap((p) => p.errors);
      await Promise.all(open.map((p) => p.close()));
      expect(errors, "uncaught errors in the page").toEqual([]);
    });

    afterAll(async () => {
      await browser?.close();
      await server?.close();
      await pc?.close();
    });

    async function open(origin = server.origin): Promise<WebPage> {
      const page = await WebPage.open(browser, origin);
      pages.push(page);
      return page;
    }

    const connection = () => ({
      endpoint: pc.proxy.url,
      username: pc.childAuth!.username,
      password: pc.childAuth!.password,
    });

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

    it("raw fetch: put and get through the gateway, a watch response read as it streams, and its end at a cut", async () => {
      const page = await open();
      const got = await page.call("rawPutGet", { ...connection(), key: "web/raw/a", value: "1" });
      expect(got.value).toBe("1");
      expect((await pc.admin.get("web/raw/a"))?.text()).toBe("1");

      await page.call("rawWatch", {
        ...connection(),
        key: "web/raw/w",
        from: (BigInt(got.revision) + 1n).toString(),
      });
      const revision = await write(pc, "web/raw/w", "x");
      expect(
        await page.waitFor("the raw watch's event", (r) => r.type === "raw-event" && r.value === "x"),
      ).toEqual({ type: "raw-event", key: "web/raw/w", value: "x", revision: revision.toString() });
      pc.proxy.cut();
      const ended = await page.waitFor(
        "the raw watch ending at the cut",
        (r) => r.type === "raw-watch-ended",
      );
      expect(ended.error).toMatch(/^TypeError: /);
    });
  },
);
