/**
 * Waiting on something that may never settle (an export stack still
 * loading, a flush in flight), bounded by an absolute epoch-ms deadline.
 */

/** `p`'s value, or undefined if it failed or had not settled by the deadline. */
export async function untilDeadline<T>(
  p: Promise<T>,
  deadlineMs: number,
  now: () => number = Date.now
): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<undefined>((resolve) => {
    timer = setTimeout(resolve, Math.max(0, deadlineMs - now()), undefined);
  });
  try {
    return await Promise.race([p.catch(() => undefined), timeout]);
  } finally {
    clearTimeout(timer);
  }
}
