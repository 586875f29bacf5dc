import { EtcdError } from "../../src/client/index.js";

/**
 * etcd refuses membership changes for ~5 s after a member connects ("unhealthy cluster"), while too few
 * members run ("not enough started members"), and promotions until the learner caught up ("in sync").
 * Retries `change` through those refusals only, for up to `timeoutMs`.
 */
export async function retryReconfiguration<T>(change: () => Promise<T>, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await change();
    } catch (err) {
      const transient =
        err instanceof EtcdError &&
        /unhealthy cluster|not enough started members|in sync|too many learner/i.test(err.serverMessage);
      if (!transient || Date.now() > deadline) throw err;
    }
    await new Promise((r) => setTimeout(r, 250));
  }
}
