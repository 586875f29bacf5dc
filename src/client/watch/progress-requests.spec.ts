import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { ProgressRequests } from "./progress-requests.js";

describe("ProgressRequests", () => {
  let open = true;
  let sent = 0;
  const host = {
    trySend: () => {
      if (!open) return false;
      sent++;
      return true;
    },
  };
  let progress: ProgressRequests;
  beforeEach(() => {
    vi.useFakeTimers();
    open = true;
    sent = 0;
    progress = new ProgressRequests(host, 1_000);
  });
  afterEach(() => {
    progress.cancel();
    vi.useRealTimers();
  });

  it("sends one request for callers that ask while it is on its way, and asks again until answered", () => {
    progress.request();
    progress.request();
    expect(sent).toBe(1);
    vi.advanceTimersByTime(1_000);
    expect(sent).toBe(2);
    vi.advanceTimersByTime(1_000);
    expect(sent).toBe(3);
    progress.answered();
    expect(progress.wanted).toBe(false);
    vi.advanceTimersByTime(5_000);
    expect(sent).toBe(3);
  });

  it("waits for a stream that can take the request, and asks again on the next stream", () => {
    open = false;
    progress.request();
    expect(sent).toBe(0);
    open = true;
    progress.ready();
    expect(sent).toBe(1);
    // Already on its way: ready() does not send it twice.
    progress.ready();
    expect(sent).toBe(1);
    // The stream broke before the answer: the next stream gets the request as soon as it can take it.
    progress.ended();
    progress.ready();
    expect(sent).toBe(2);
  });

  it("forgets the request when cancelled (no watch left to answer for)", () => {
    progress.request();
    progress.cancel();
    progress.ready();
    vi.advanceTimersByTime(5_000);
    expect(sent).toBe(1);
  });
});
