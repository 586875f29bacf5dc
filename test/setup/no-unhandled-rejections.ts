import { afterAll, beforeAll, expect } from "vitest";

/**
 * The one guard against unhandled rejections, a `setupFiles` entry of vitest.config.ts: every test file
 * (and spec) collects the rejections nobody handled while it ran and fails in its last `afterAll` if there
 * was any, after the file's own `afterAll`s closed its clients (vitest runs `afterAll` hooks in reverse,
 * and a setup file's hooks come first). A rejection the file handles itself is not one of them.
 */
const unhandled: unknown[] = [];
const onUnhandled = (reason: unknown) => unhandled.push(reason);

beforeAll(() => {
  process.on("unhandledRejection", onUnhandled);
});

afterAll(() => {
  process.off("unhandledRejection", onUnhandled);
  expect(unhandled, "rejections nobody handled while this file ran").toEqual([]);
});
