import { ClosedError } from "../core/errors.js";

/** A {@link RangeCache} was closed before what was asked of it happened (it was ready, a revision was reached). */
export class RangeCacheClosedError extends ClosedError {
  override name = "RangeCacheClosedError";
  constructor(message = "the cache was closed") {
    super(message);
  }
}
