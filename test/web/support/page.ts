import type { Browser, BrowserContext, Page } from "playwright-core";
import type { PageApi, PageReport } from "../page/app.js";

/**
 * One browser page (its own context: cookies, storage and connections apart from other tests') at the
 * page server's origin, with the page's program (test/web/page/app.ts) loaded. The test calls the
 * program's functions with {@link call}; what the program reports while it runs (watch batches, a lost
 * lease) collects in {@link reports}.
 */
export class WebPage {
  /** Every report of the page's program, in order. */
  readonly reports: PageReport[] = [];
  /** Uncaught errors and unhandled rejections inside the page: a test ends with none. */
  readonly errors: string[] = [];
  readonly #context: BrowserContext;
  readonly #page: Page;
  readonly #waiters = new Set<() => void>();

  private constructor(context: BrowserContext, page: Page) {
    this.#context = context;
    this.#page = page;
    page.on("pageerror", (err) => {
      this.errors.push(err.stack ?? err.message);
      this.#wake();
    });
  }

  /**
   * Opens `origin` in a fresh context of `browser` and waits for the page's program to be ready. With
   * `ignoreHTTPSErrors` the page trusts any certificate (the test kit's CA is not the browser's).
   */
  static async open(
    browser: Browser,
    origin: string,
    options: { ignoreHTTPSErrors?: boolean } = {},
  ): Promise<WebPage> {
    const context = await browser.newContext({ ignoreHTTPSErrors: options.ignoreHTTPSErrors ?? false });
    try {
      const page = await context.newPage();
      const web = new WebPage(context, page);
      await page.exposeFunction("etcdReport", (report: PageReport) => {
        web.reports.push(report);
        web.#wake();
      });
      await page.goto(`${origin}/`);
      await page.waitForFunction("globalThis.etcdPage !== undefined", undefined, { timeout: 30_000 });
      return web;
    } catch (err) {
      await context.close();
      throw err;
    }
  }

  /**
   * Calls the page program's function `name` with `arg` (JSON: bigints go as strings) and returns what
   * it resolves with. An expression, not a function: vitest's transform would put helpers into a
   * function's source that the page does not have.
   */
  call<K extends keyof PageApi>(
    name: K,
    arg: Parameters<PageApi[K]>[0],
  ): Promise<Awaited<ReturnType<PageApi[K]>>> {
    return this.#page.evaluate(`globalThis.etcdPage[${JSON.stringify(name)}](${JSON.stringify(arg)})`);
  }

  /** Evaluates a JavaScript expression in the page (awaited when it is a promise) and returns its value. */
  evaluate<T>(expression: string): Promise<T> {
    return this.#page.evaluate(expression) as Promise<T>;
  }

  /**
   * The first report (from index `since` on) that `match` accepts. Rejects after `timeoutMs`, or at once
   * when the page reports an error of its program (`type: "error"`) or throws one nobody caught.
   */
  waitFor(
    what: string,
    match: (report: PageReport) => boolean,
    options: { timeoutMs?: number; since?: number } = {},
  ): Promise<PageReport> {
    const { timeoutMs = 30_000 } = options;
    let next = options.since ?? 0;
    return new Promise((resolve, reject) => {
      const finish = (fn: () => void) => {
        clearTimeout(timer);
        this.#waiters.delete(poll);
        fn();
      };
      const poll = () => {
        for (; next < this.reports.length; next++) {
          const report = this.reports[next]!;
          if (report.type === "error") {
            finish(() => reject(new Error(`the page failed while waiting for ${what}: ${report.message}`)));
            return;
          }
          if (match(report)) {
            finish(() => resolve(report));
            return;
          }
        }
        if (this.errors.length > 0)
          finish(() => reject(new Error(`the page threw while waiting for ${what}: ${this.errors[0]}`)));
      };
      const timer = setTimeout(
        () => finish(() => reject(new Error(`no ${what} from the page within ${timeoutMs} ms`))),
        timeoutMs,
      );
      this.#waiters.add(poll);
      poll();
    });
  }

  /** Closes the page and its context (its connections with it). */
  async close(): Promise<void> {
    await this.#context.close();
  }

  #wake(): void {
    for (const poll of [...this.#waiters]) poll();
  }
}
