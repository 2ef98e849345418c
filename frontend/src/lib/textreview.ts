// The review of the text found before it is removed: each line read, with its confidence and its box,
// ticked to go or unticked to stay. The mask on the canvas is the text's own pixels (the detect_text job's
// result.png) or, where that cannot be had, the lines' boxes; a line taken back clears its box on the mask.
import type { TextLine, TextReport } from './textboxes'

export interface Rect {
  x: number
  y: number
  width: number
  height: number
}

/** The colour of mask paint, as RGBA bytes (MaskBrush paints rgba(255, 60, 60, 0.6)). */
export const PAINT_RGBA: readonly [number, number, number, number] = [255, 60, 60, 153]

/** "98% sure": OCR's confidence (0..1) in words. */
export function confidenceWords(score: number): string {
  return `${Math.round(Math.max(0, Math.min(1, score)) * 100)}% sure`
}

/**
 * The part of a `width`×`height` canvas a line's mask can reach: its box (in the report's pixels, scaled to
 * the canvas), grown by the job's dilate_px (a box-shaped line mask grows that much; letter-shaped ones by
 * 1 px) and one pixel more for rounding, clamped to the canvas.
 */
export function lineRect(line: Pick<TextLine, 'box'>, report: Pick<TextReport, 'width' | 'height' | 'dilate_px'>, width: number, height: number): Rect {
  const sx = width / (report.width || width)
  const sy = height / (report.height || height)
  const grow = Math.max(report.dilate_px, 1) + 1
  const [x0, y0, x1, y1] = line.box
  const left = Math.max(0, Math.floor((x0 - grow) * sx))
  const top = Math.max(0, Math.floor((y0 - grow) * sy))
  const right = Math.min(width, Math.ceil((x1 + grow) * sx))
  const bottom = Math.min(height, Math.ceil((y1 + grow) * sy))
  return { x: left, y: top, width: Math.max(0, right - left), height: Math.max(0, bottom - top) }
}

/** Where two rectangles overlap, or null. */
export function intersect(a: Rect, b: Rect): Rect | null {
  const x = Math.max(a.x, b.x)
  const y = Math.max(a.y, b.y)
  const right = Math.min(a.x + a.width, b.x + b.width)
  const bottom = Math.min(a.y + a.height, b.y + b.height)
  return right > x && bottom > y ? { x, y, width: right - x, height: bottom - y } : null
}

/**
 * Taking line `taken` off the mask clears its rectangle; the lines still to go whose rectangles overlap it
 * are drawn again there, so a neighbour keeps its pixels. Returns those lines with the part to redraw.
 */
export function redrawAfterTaking(rects: Rect[], taken: number, removing: boolean[]): { index: number; clip: Rect }[] {
  const out: { index: number; clip: Rect }[] = []
  rects.forEach((rect, index) => {
    if (index === taken || !removing[index]) return
    const clip = intersect(rect, rects[taken])
    if (clip) out.push({ index, clip })
  })
  return out
}

/** The lines ticked to go. */
export function linesToRemove(report: Pick<TextReport, 'lines'>, removing: boolean[]): TextLine[] {
  return report.lines.filter((_, i) => removing[i])
}

const plural = (n: number, one: string, many: string) => `${n} ${n === 1 ? one : many}`

/** What the lines are called: "words" when each is one word, else "lines of text". */
function noun(lines: TextLine[], n: number): string {
  const words = lines.every((l) => !/\s/.test(l.text.trim()))
  return words ? plural(n, 'word', 'words') : plural(n, 'line of text', 'lines of text')
}

/** The confirmation's words: "Remove these 3 words", or what Run will do when none is ticked. */
export function confirmLabel(toRemove: TextLine[], painted: boolean): string {
  if (!toRemove.length) return painted ? 'Fill only what you painted' : 'Nothing to remove'
  return toRemove.length === 1 ? `Remove this ${noun(toRemove, 1).replace(/^1 /, '')}` : `Remove these ${noun(toRemove, toRemove.length)}`
}

/** The line over the list: what was read and how it is shown on the mask. */
export function reviewSummary(report: Pick<TextReport, 'lines'>, removing: boolean[], letters: boolean): string {
  const found = report.lines.length
  if (!found) return 'No text found.'
  const going = linesToRemove(report, removing).length
  const how = letters ? 'its letters are painted on the mask' : 'its boxes are painted on the mask'
  return `Read ${noun(report.lines, found)}; ${going} of ${found} ticked to remove (${how}). Untick what should stay.`
}

/**
 * A mask image's pixels (white on black, opaque RGBA as a canvas reads them) turned, in place, into mask
 * paint: `rgba` where the mask is on (brighter than half), transparent elsewhere.
 */
export function maskToPaint(data: Uint8ClampedArray, rgba: readonly [number, number, number, number] = PAINT_RGBA): number {
  let on = 0
  for (let i = 0; i < data.length; i += 4) {
    const lit = data[i] > 127
    data[i] = lit ? rgba[0] : 0
    data[i + 1] = lit ? rgba[1] : 0
    data[i + 2] = lit ? rgba[2] : 0
    data[i + 3] = lit ? rgba[3] : 0
    if (lit) on += 1
  }
  return on
}
