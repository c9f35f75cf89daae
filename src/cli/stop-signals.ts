/**
 * How the long-running commands (`run`, `playground`) are stopped: SIGINT (Ctrl-C), SIGTERM (`kill`, Kubernetes)
 * or SIGHUP (the terminal closed) starts one graceful stop. Under `npm start` one Ctrl-C arrives twice — from
 * the terminal and forwarded by npm — so a repeat within a second is the same request; a signal after that
 * means "stop now" and exits at once. (A lost npm parent arrives as SIGTERM: src/entry-guard.ts.)
 */
const STOP_SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;
const SAME_REQUEST_MS = 1000;

export type StopSignal = (typeof STOP_SIGNALS)[number];

/**
 * Calls `onStop` on the first stop signal. A later one (after a second) writes `forcedMessage` to stderr and
 * exits with status 1. Returns a function that removes the listeners.
 */
export function onStopSignal(onStop: (signal: StopSignal) => void, forcedMessage: string): () => void {
  let firstAt: number | undefined;
  const handler = (signal: StopSignal) => {
    if (firstAt === undefined) {
      firstAt = Date.now();
      onStop(signal);
    } else if (Date.now() - firstAt >= SAME_REQUEST_MS) {
      process.stderr.write(`${forcedMessage}\n`);
      process.exit(1);
    }
  };
  for (const s of STOP_SIGNALS) process.on(s, handler);
  return () => {
    for (const s of STOP_SIGNALS) process.off(s, handler);
  };
}
