// "Find text" in the inpaint form: the served preview operation (detect_text) runs inpaint's OCR
// job alone; its result.json (jobs/text_detection.py) lists the lines of text it would mask, and the lines it
// dropped as implausible with the reason. The kept lines are drawn on the mask canvas as mask strokes, grown
// as the job grows them, so the mask the user sees, erases and undoes is the mask that is filled.
import type { ApiClient, Execution } from './api'
import { isFinal } from './api'
import { followExecution, type PollEnvironment } from './poll'

export interface TextLine {
  text: string
  score: number
  box: number[] // [x0, y0, x1, y1] in the image's pixels
  polygon: number[][] // [[x, y] × 4]
}

export interface DroppedLine {
  text: string
  score: number
  box: number[]
  reason: string
}

export interface TextReport {
  width: number
  height: number
  dilate_px: number
  min_score: number
  lines: TextLine[]
  dropped_lines: DroppedLine[]
  // The mask the job built (result.png: the text's own pixels, white on black), when the execution lists it.
  mask_url?: string
}

/** The job's report, checked for what is drawn from it; an Error names what is missing. */
export function parseTextReport(value: unknown): TextReport {
  const report = value as Partial<TextReport> | null
  const ok =
    !!report &&
    typeof report.width === 'number' &&
    typeof report.height === 'number' &&
    Array.isArray(report.lines) &&
    Array.isArray(report.dropped_lines) &&
    report.lines.every((l) => Array.isArray(l.polygon) && l.polygon.length >= 3)
  if (!ok) throw new Error('the text report has no lines with polygons')
  return { dilate_px: 0, min_score: 0, ...report } as TextReport
}

/** What a canvas context needs to draw the boxes (a real CanvasRenderingContext2D, or a test's fake). */
export type PathContext = Pick<
  CanvasRenderingContext2D,
  'beginPath' | 'moveTo' | 'lineTo' | 'closePath' | 'fill' | 'stroke'
> & {
  fillStyle: CanvasRenderingContext2D['fillStyle']
  strokeStyle: CanvasRenderingContext2D['strokeStyle']
  lineWidth: number
  lineJoin: CanvasLineJoin
  globalCompositeOperation: GlobalCompositeOperation
}

/**
 * Draw each kept line as mask paint on a canvas of `width`×`height` (the image's own size; a report of
 * another size is scaled to it): its polygon filled, then stroked 2×dilate_px wide with round joins, which
 * is the polygon grown by a disc of dilate_px, as the job's mask is. Returns the number of lines drawn.
 */
export function drawTextBoxes(ctx: PathContext, report: TextReport, width: number, height: number, colour: string): number {
  const sx = width / (report.width || width)
  const sy = height / (report.height || height)
  ctx.globalCompositeOperation = 'source-over'
  ctx.fillStyle = colour
  ctx.strokeStyle = colour
  ctx.lineJoin = 'round'
  ctx.lineWidth = 2 * report.dilate_px * Math.max(sx, sy)
  for (const line of report.lines) {
    ctx.beginPath()
    line.polygon.forEach(([x, y], i) => (i === 0 ? ctx.moveTo(x * sx, y * sy) : ctx.lineTo(x * sx, y * sy)))
    ctx.closePath()
    ctx.fill()
    if (report.dilate_px > 0) ctx.stroke()
  }
  return report.lines.length
}

const plural = (n: number, one: string, many: string) => `${n} ${n === 1 ? one : many}`

/** The line under the brush: how many boxes were drawn, how many dropped and why. */
export function textSummary(report: TextReport): string {
  const found = report.lines.length
  const dropped = report.dropped_lines.length
  const head = found ? `Found ${plural(found, 'box', 'boxes')} of text, drawn on the mask` : 'Found no text to mask'
  if (!dropped) return `${head}; none dropped.`
  const why = report.dropped_lines.map((d) => `“${d.text}”: ${d.reason}`).join('; ')
  return `${head}; ${plural(dropped, 'box', 'boxes')} dropped as implausible (${why}).`
}

/** Follow an execution to its end (the same polling as a run); a 404 ends it with that error. */
export function untilFinal(api: Pick<ApiClient, 'execution'>, id: string, polling: Partial<PollEnvironment> = {}): Promise<Execution> {
  return new Promise((resolve, reject) => {
    let stop: (() => void) | null = null
    let ended = false
    const end = (finish: () => void) => {
      ended = true
      stop?.()
      finish()
    }
    stop = followExecution(
      api,
      id,
      (e) => isFinal(e) && end(() => resolve(e)),
      (error) => (error as { status?: number }).status === 404 && end(() => reject(error)),
      polling,
    )
    if (ended) stop()
  })
}

/**
 * Run the preview operation (detect_text) on an upload with the given options, follow it, and read its
 * result.json. Rejects with the execution's own error when it does not succeed.
 */
export async function findText(
  api: Pick<ApiClient, 'submit' | 'execution'>,
  operation: string,
  upload: string,
  options: Record<string, unknown>,
  idempotencyKey: string,
  fetcher: typeof fetch = (...args) => fetch(...args),
  polling: Partial<PollEnvironment> = {},
): Promise<TextReport> {
  const submitted = await api.submit({ operation, upload, options }, idempotencyKey)
  const done = await untilFinal(api, submitted.execution_id, polling)
  if (done.status !== 'SUCCEEDED') {
    throw new Error(`Finding text ${done.status.toLowerCase().replace('_', ' ')}: ${done.error?.message ?? 'no reason given'}`)
  }
  const report = done.results.find((r) => r.key.endsWith('/result.json'))
  if (!report) throw new Error('Finding text ended without its report (result.json)')
  const response = await fetcher(report.url)
  if (!response.ok) throw new Error(`The text report could not be fetched (${response.status})`)
  const mask = done.results.find((r) => r.key.endsWith('/result.png'))
  return { ...parseTextReport(await response.json()), ...(mask ? { mask_url: mask.url } : {}) }
}
