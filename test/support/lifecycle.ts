/**
 * A live object's end as a promise that rejects: with its error when it ended by itself (a loss), with
 * "closed cleanly" when this process closed it. For tests written around a loss; unobserved, it never
 * becomes an unhandled rejection.
 */
export function ended(closed: Promise<Error | undefined>): Promise<never> {
  const end = closed.then((error) => {
    throw error ?? new Error("closed cleanly, not lost");
  });
  end.catch(() => {});
  return end;
}

/**
 * Rejects with a live object's error if it ends by itself (a loss); stays pending when it is closed
 * cleanly or still open. For tests that check nothing was lost while releasing normally.
 */
export function lossOf(closed: Promise<Error | undefined>): Promise<never> {
  const loss = closed.then((error) => {
    if (error) throw error;
    return new Promise<never>(() => {});
  });
  loss.catch(() => {});
  return loss;
}
