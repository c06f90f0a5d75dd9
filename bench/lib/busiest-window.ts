/** The most of `times` (ms) that fall in any one window of `windowMs`: what a rate limit sees at its worst. */
export function busiestWindow(times: number[], windowMs: number): number {
  const sorted = [...times].sort((a, b) => a - b);
  let most = 0;
  let end = 0;
  for (let start = 0; start < sorted.length; start += 1) {
    while (end < sorted.length && (sorted[end] as number) < (sorted[start] as number) + windowMs) end += 1;
    most = Math.max(most, end - start);
  }
  return most;
}
