/** One thing wrong with a FlashSaleStack: where (a field path such as `spec.redis.maxmemoryPolicy`) and what to do. */
export interface Problem {
  path: string;
  /** What is wrong and how to fix it, in one sentence or two. */
  message: string;
}

export function formatProblem(problem: Problem): string {
  return `${problem.path}: ${problem.message}`;
}
