/**
 * How far real job time lands from the time model's: the 10th and 90th percentiles of measured ÷ estimated step time
 * over every calibration run (the 52 expressible published runs, Qwen's 36 HF-stack runs and our 65 H200 runs).
 * test/calibration/time-band.test.ts recomputes them from the fixtures.
 */
export const TIME_BAND = { p10: 0.73, p90: 1.13, runs: 153 } as const

/** The p10–p90 range of a time (or a cost proportional to it). */
export function band(value: number): [number, number] {
  return [value * TIME_BAND.p10, value * TIME_BAND.p90]
}

/** Two costs tie when each lies inside the other's band. */
export function withinBand(a: number, b: number): boolean {
  const [aLo, aHi] = band(a)
  const [bLo, bHi] = band(b)
  return b >= aLo && b <= aHi && a >= bLo && a <= bHi
}
