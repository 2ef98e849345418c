// A named query's answer as a bar chart: one bar per row (labelled by its text columns, e.g.
// "upscale · cpu"), one series per chosen numeric column.

/** What a chart reads of a query's answer (the API's QueryAnswer has these and more). */
export interface QueryAnswer {
  name: string
  columns: string[]
  rows: Record<string, unknown>[]
}

// Which measures each named query is about (analytics/queries/*.sql); other queries chart their
// first numeric column. Every numeric column can be added in the page.
export const DEFAULT_MEASURES: Record<string, string[]> = {
  duration_percentiles_by_operation_device: ['p50_total_ms', 'p95_total_ms'],
  failure_rate_per_operation: ['failure_rate'],
  throughput_per_model: ['megapixels_per_second'],
  cost_per_image: ['cost_per_image_usd'],
  cost_per_user_operation_per_day: ['cost_usd'],
  volume_per_operation_per_day: ['executions', 'succeeded'],
  top_errors: ['executions'],
}

const PALETTE = ['#4f7cf0', '#f08a4f', '#3aa57a', '#b05fd1', '#d1a12b', '#5fb9d1']

/** The columns whose values are all numbers (or empty). */
export function numericColumns(answer: QueryAnswer): string[] {
  return answer.columns.filter(
    (c) => answer.rows.some((r) => typeof r[c] === 'number') && answer.rows.every((r) => r[c] === null || typeof r[c] === 'number'),
  )
}

export function defaultMeasures(answer: QueryAnswer): string[] {
  const numeric = numericColumns(answer)
  const known = (DEFAULT_MEASURES[answer.name] ?? []).filter((c) => numeric.includes(c))
  return known.length ? known : numeric.slice(0, 1)
}

export interface BarData {
  labels: string[]
  datasets: { label: string; data: (number | null)[]; backgroundColor: string }[]
}

export function chartData(answer: QueryAnswer, measures: string[]): BarData {
  const numeric = new Set(numericColumns(answer))
  const labelColumns = answer.columns.filter((c) => !numeric.has(c))
  return {
    labels: answer.rows.map((r) => labelColumns.map((c) => String(r[c] ?? '–')).join(' · ') || '(all)'),
    datasets: measures.map((m, i) => ({
      label: m,
      data: answer.rows.map((r) => (typeof r[m] === 'number' ? (r[m] as number) : null)),
      backgroundColor: PALETTE[i % PALETTE.length],
    })),
  }
}
