// What a run cost, in words for its result view: "Cost: $0.0123", or "Cost: free (local)" for a run
// on this machine at no configured price. The figure is the server's (its jobs' device seconds at the
// price table's or the configured price); a price that stood in for an unknown one says so.
import type { Execution } from './api'

export type RunCost = NonNullable<Execution['cost']>

/** Dollars: cents from a dollar up, four places below (a run costs fractions of a cent). */
export function usdWords(usd: number): string {
  return usd >= 1 ? `$${usd.toFixed(2)}` : `$${usd.toFixed(4)}`
}

export function costWords(cost: RunCost | null | undefined): string | null {
  if (!cost) return null
  if (cost.usd === 0 && cost.capacity === 'local') return 'Cost: free (local)'
  const estimated = cost.price_source.startsWith('fallback: ') ? ' (estimated: the exact machine is not known)' : ''
  return `Cost: ${usdWords(cost.usd)}${estimated}`
}

/** The line's tooltip: the device seconds and where the price came from. */
export function costBasis(cost: RunCost | null | undefined): string {
  if (!cost) return ''
  return `${cost.device_seconds.toFixed(1)} device seconds at ${usdWords(cost.usd_per_second * 3600)}/h: ${cost.price_source}`
}
