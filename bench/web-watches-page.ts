/** The page of bench/web-watches.ts: the bench's functions on `globalThis.etcdPage`. */
import { watchesBench } from "./web-watches-lib.js";

(globalThis as Record<string, unknown>).etcdPage = watchesBench();
