// "About N s on this machine": an estimate for the chosen operation and model from the past runs the
// server lists (their durations and the input size their metadata records), before anything is run.
import type { Execution } from './api'
import type { OperationSpec } from './operations'

/** What an estimate needs of the operation: its name, and the served option that picks its model (if any). */
export type EstimatedOperation = Pick<OperationSpec, 'name' | 'modelOption'>

export interface Estimate {
  seconds: number
  basis: string // which past run it comes from, in words
  /** Its price, scaled from the same past run's recorded cost as its time; null when that run has none. */
  usd: number | null
}

function inputPixels(e: Execution): number | null {
  for (const job of Object.values(e.metadata ?? {})) {
    const input = (job as { input?: { width?: unknown; height?: unknown } } | null)?.input
    if (typeof input?.width === 'number' && typeof input?.height === 'number') return input.width * input.height
  }
  return null
}

/**
 * From the succeeded past run of the same operation and model (its served model_option's value; any past
 * run of the operation where none is served) nearest in size: its duration, scaled up by the pixel ratio
 * for a larger image (never down: fixed costs such as start-up and loading stay).
 */
export function estimateRun(
  past: Execution[],
  spec: EstimatedOperation,
  options: Record<string, unknown>,
  defaults: Record<string, unknown>,
  pixels: number | null,
): Estimate | null {
  if (pixels === null) return null
  const operation = spec.name
  const option = spec.modelOption
  const model = (option && (options[option] ?? defaults[option])) ?? null
  let best: { run: Execution; px: number } | null = null
  for (const run of past) {
    if (run.operation !== operation || run.status !== 'SUCCEEDED' || run.duration_s === null) continue
    if (option && ((run.options[option] ?? defaults[option]) ?? null) !== model) continue
    const px = inputPixels(run)
    if (px === null || px === 0) continue
    if (!best || Math.abs(Math.log(px / pixels)) < Math.abs(Math.log(best.px / pixels))) best = { run, px }
  }
  if (!best) return null
  const scale = Math.max(1, pixels / best.px)
  const seconds = best.run.duration_s! * scale
  const usd = best.run.cost ? best.run.cost.usd * scale : null
  const mp = (n: number) => (n / 1e6 < 0.1 ? (n / 1e6).toFixed(2) : (n / 1e6).toFixed(1))
  return { seconds, usd, basis: `a past ${operation}${model ? ` with ${model}` : ''} of ${mp(best.px)} MP took ${best.run.duration_s!.toFixed(1)} s` }
}

/**
 * A batch: the sum of each image's estimate, an upper bound (the batch's jobs pay their start-up and
 * model load once per chunk, where each past single run paid them once each).
 */
export function estimateBatch(
  past: Execution[],
  spec: EstimatedOperation,
  options: Record<string, unknown>,
  defaults: Record<string, unknown>,
  pixels: (number | null)[],
): Estimate | null {
  const each = pixels.map((px) => estimateRun(past, spec, options, defaults, px))
  if (each.length === 0 || each.some((e) => e === null)) return null
  const seconds = each.reduce((sum, e) => sum + e!.seconds, 0)
  const usd = each.every((e) => e!.usd !== null) ? each.reduce((sum, e) => sum + e!.usd!, 0) : null
  return { seconds, usd, basis: `at most, for ${each.length} images: ${each[0]!.basis}, and a batch starts up once` }
}

/** The estimate's price beside its time: ", about $0.0040", ", free" (a past run that cost nothing), or nothing. */
export function priceInWords(estimate: Pick<Estimate, 'usd'>): string {
  if (estimate.usd === null) return ''
  if (estimate.usd === 0) return ', free'
  return `, about ${estimate.usd >= 1 ? `$${estimate.usd.toFixed(2)}` : `$${estimate.usd.toFixed(4)}`}`
}

export function secondsInWords(s: number): string {
  if (s < 90) return `${Math.max(1, Math.round(s))} s`
  return `${Math.round(s / 60)} min`
}
