import { create } from "@bufbuild/protobuf";
import { createClient, type Transport } from "@connectrpc/connect";
import {
  DeleteRangeRequestSchema,
  KV,
  PutRequestSchema,
  RequestOpSchema,
  TxnRequestSchema,
} from "../../src/gen/etcdserverpb/rpc_pb.js";

const enc = new TextEncoder();

/**
 * Streams puts, deletes and multi-key txns under `prefix` while a fault happens, so watchers have a
 * history to lose. Errors (a member down) are counted and the loop goes on.
 */
export class HistoryLoad {
  readonly #prefix: string;
  readonly #transports: () => Transport;
  #running = false;
  #loop: Promise<void> | undefined;
  /** Writes acknowledged / failed so far. */
  ok = 0;
  failed = 0;

  /** `transport` is called for each write, so a test can switch members when one dies. */
  constructor(prefix: string, transport: () => Transport) {
    this.#prefix = prefix;
    this.#transports = transport;
  }

  /** Starts writing, one operation every `pauseMs` (default 2 ms). */
  start(pauseMs = 2): void {
    this.#running = true;
    this.#loop = this.#run(pauseMs);
  }

  /** Stops writing and waits for the last write. */
  async stop(): Promise<void> {
    this.#running = false;
    await this.#loop;
  }

  /** Puts the sentinel key `<prefix>~end` and returns its revision: the end of the history to compare. */
  async sentinel(): Promise<bigint> {
    for (let attempt = 0; ; attempt++) {
      try {
        const r = await createClient(KV, this.#transports()).put(
          create(PutRequestSchema, { key: enc.encode(`${this.#prefix}~end`), value: enc.encode("end") }),
          { timeoutMs: 5000 },
        );
        return r.header?.revision ?? 0n;
      } catch (err) {
        if (attempt >= 20) throw err;
        await new Promise((r) => setTimeout(r, 250));
      }
    }
  }

  async #run(pauseMs: number): Promise<void> {
    let i = 0;
    while (this.#running) {
      i++;
      const kv = createClient(KV, this.#transports());
      const key = (n: number) => enc.encode(`${this.#prefix}k${n % 17}`);
      try {
        if (i % 5 === 0) {
          await kv.deleteRange(create(DeleteRangeRequestSchema, { key: key(i - 1) }), { timeoutMs: 3000 });
        } else if (i % 7 === 0) {
          await kv.txn(
            create(TxnRequestSchema, {
              success: [0, 1, 2].map((j) =>
                create(RequestOpSchema, {
                  request: {
                    case: "requestPut",
                    value: create(PutRequestSchema, { key: key(i + j), value: enc.encode(`t${i}`) }),
                  },
                }),
              ),
            }),
            { timeoutMs: 3000 },
          );
        } else {
          await kv.put(create(PutRequestSchema, { key: key(i), value: enc.encode(`v${i}`) }), {
            timeoutMs: 3000,
          });
        }
        this.ok++;
      } catch {
        this.failed++;
        await new Promise((r) => setTimeout(r, 50));
      }
      if (pauseMs > 0) await new Promise((r) => setTimeout(r, pauseMs));
    }
  }
}
