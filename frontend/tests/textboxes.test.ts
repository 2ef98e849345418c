// "Find text": detect_text's boxes drawn into the mask as strokes the user can undo and erase.
import { flushPromises, mount } from '@vue/test-utils'
import { afterEach, describe, expect, it, vi } from 'vitest'
import MaskBrush from '../src/components/MaskBrush.vue'
import OperationPicker from '../src/components/OperationPicker.vue'
import { OPERATIONS, formFor, previewOf, useServedOperations, type ServedOperation } from '../src/lib/operations'
import { drawTextBoxes, findText, textSummary, type PathContext, type TextReport } from '../src/lib/textboxes'
import { execution, json, result } from './fakes'
import served from './served-operations.json'

const REPORT: TextReport = {
  width: 200,
  height: 100,
  dilate_px: 8,
  min_score: 0.5,
  lines: [
    { text: 'HELLO', score: 0.98, box: [10, 10, 60, 30], polygon: [[10, 10], [60, 10], [60, 30], [10, 30]] },
    { text: 'WORLD', score: 0.91, box: [80, 50, 150, 70], polygon: [[80, 50], [150, 50], [150, 70], [80, 70]] },
  ],
  dropped_lines: [{ text: '8', score: 0.51, box: [0, 0, 200, 100], reason: 'box covers 100% of the image (more than 25%)' }],
}

/** A 2D context that records the path calls and the style each fill and stroke was made with. */
function recordingContext() {
  const calls: string[] = []
  const painted: { op: string; lineWidth: number; lineJoin: string; composite: string; colour: unknown }[] = []
  const ctx = {
    fillStyle: '',
    strokeStyle: '',
    lineWidth: 1,
    lineJoin: 'miter' as CanvasLineJoin,
    globalCompositeOperation: 'destination-out' as GlobalCompositeOperation,
    beginPath: () => calls.push('begin'),
    moveTo: (x: number, y: number) => calls.push(`M${x},${y}`),
    lineTo: (x: number, y: number) => calls.push(`L${x},${y}`),
    closePath: () => calls.push('close'),
    fill: () => painted.push({ op: 'fill', lineWidth: ctx.lineWidth, lineJoin: ctx.lineJoin, composite: ctx.globalCompositeOperation, colour: ctx.fillStyle }),
    stroke: () => painted.push({ op: 'stroke', lineWidth: ctx.lineWidth, lineJoin: ctx.lineJoin, composite: ctx.globalCompositeOperation, colour: ctx.strokeStyle }),
  }
  return { ctx: ctx as unknown as PathContext, calls, painted }
}

describe('the served preview', () => {
  it('is no operation tab: detect_text (served with preview_for) is offered inside inpaint only', () => {
    useServedOperations(served as ServedOperation[])
    expect(OPERATIONS.map((o) => o.name)).toEqual(served.filter((o) => !o.preview_for).map((o) => o.name))
    expect(OPERATIONS.map((o) => o.name)).not.toContain('detect_text')
    expect(previewOf('inpaint')?.name).toBe('detect_text')
    expect(previewOf('inpaint')?.options.map((o) => o.name)).toEqual(['min_score', 'dilate_px'])
    expect(previewOf('upscale')).toBeNull()
    expect([formFor('detect_text'), formFor('inpaint'), formFor('upscale')]).toEqual(['inpaint', 'inpaint', 'upscale'])
    const picker = mount(OperationPicker, { props: { modelValue: 'inpaint', options: {} } })
    expect(picker.find('[data-testid="operation-detect_text"]').exists()).toBe(false)
    expect(picker.findAll('input[name="operation"]')).toHaveLength(OPERATIONS.length) // one per tab, none for the preview
  })
})

describe('drawing the boxes into the mask', () => {
  it('fills each kept polygon and grows it by dilate_px (a stroke 2×dilate_px wide, round joins), as paint', () => {
    const { ctx, calls, painted } = recordingContext()
    expect(drawTextBoxes(ctx, REPORT, 200, 100, 'red')).toBe(2)
    expect(calls).toEqual([
      'begin', 'M10,10', 'L60,10', 'L60,30', 'L10,30', 'close',
      'begin', 'M80,50', 'L150,50', 'L150,70', 'L80,70', 'close',
    ])
    expect(painted.map((p) => p.op)).toEqual(['fill', 'stroke', 'fill', 'stroke'])
    // paint (never the eraser's destination-out), the job's growth, the brush's colour
    expect(painted.every((p) => p.composite === 'source-over' && p.lineJoin === 'round' && p.colour === 'red')).toBe(true)
    expect(painted.filter((p) => p.op === 'stroke').every((p) => p.lineWidth === 16)).toBe(true)
    // The dropped line (a whole-image "8") is not drawn.
    expect(calls).not.toContain('M0,0')
  })

  it('scales a report of another size to the canvas, and draws no stroke without growth', () => {
    const { ctx, calls, painted } = recordingContext()
    drawTextBoxes(ctx, { ...REPORT, dilate_px: 0, lines: REPORT.lines.slice(0, 1) }, 400, 200, 'red')
    expect(calls.slice(0, 3)).toEqual(['begin', 'M20,20', 'L120,20'])
    expect(painted.map((p) => p.op)).toEqual(['fill'])
  })

  it('says how many boxes were found and how many dropped, and why', () => {
    expect(textSummary(REPORT)).toBe(
      'Found 2 boxes of text, drawn on the mask; 1 box dropped as implausible (“8”: box covers 100% of the image (more than 25%)).',
    )
    expect(textSummary({ ...REPORT, lines: [], dropped_lines: [] })).toBe('Found no text to mask; none dropped.')
  })
})

describe('finding text', () => {
  it('runs the preview operation on the upload, follows it to its end and reads its result.json', async () => {
    const id = '01JDETECT00000000000000000A'
    const running = execution({ execution_id: id, operation: 'detect_text', status: 'RUNNING' })
    const done = execution({
      execution_id: id,
      operation: 'detect_text',
      status: 'SUCCEEDED',
      results: [
        result('detect-text', `results/local/${id}/detect-text/result.json`, '/downloads/report', 'application/json'),
        result('detect-text', `results/local/${id}/detect-text/result.png`, '/downloads/mask'),
      ],
    })
    const api = {
      submit: vi.fn(async () => ({ execution_id: id, status: 'RUNNING', operation: 'detect_text', created_at: '', links: {} })),
      execution: vi.fn().mockResolvedValueOnce(running).mockResolvedValue(done),
    }
    const fetcher = vi.fn(async () => json(REPORT))
    const report = await findText(api, 'detect_text', 'uploads/local/U1/original.png', { min_score: 0.4 }, 'K1', fetcher as unknown as typeof fetch, { pace: () => 1 })
    expect(api.submit).toHaveBeenCalledWith({ operation: 'detect_text', upload: 'uploads/local/U1/original.png', options: { min_score: 0.4 } }, 'K1')
    expect(api.execution).toHaveBeenCalledTimes(2)
    expect(fetcher).toHaveBeenCalledWith('/downloads/report')
    expect(report.lines.map((l) => l.text)).toEqual(['HELLO', 'WORLD'])
  })

  it("fails with the execution's own words", async () => {
    const failed = execution({ status: 'FAILED', error: { type: 'InvalidRequest', message: 'the input image is too small' } })
    const api = { submit: vi.fn(async () => ({ execution_id: failed.execution_id, status: 'RUNNING', operation: 'detect_text', created_at: '', links: {} })), execution: vi.fn(async () => failed) }
    await expect(findText(api, 'detect_text', 'u', {}, 'K', fetch, { pace: () => 1 })).rejects.toThrow('Finding text failed: the input image is too small')
  })
})

describe('MaskBrush: Find text', () => {
  afterEach(() => {
    vi.unstubAllGlobals()
    vi.restoreAllMocks()
  })

  /** A canvas context over real pixels' alpha: a fill paints every pixel, so "painted" can be read back. */
  function pixelContext(width: number, height: number) {
    let alpha = new Uint8ClampedArray(width * height * 4)
    const ctx = {
      ...recordingContext().ctx,
      fill: vi.fn(() => alpha.fill(255)),
      stroke: vi.fn(),
      clearRect: () => alpha.fill(0),
      getImageData: () => ({ data: alpha.slice(), width, height }),
      putImageData: (image: { data: Uint8ClampedArray }) => (alpha = image.data.slice()),
    }
    return ctx
  }

  it('draws the boxes as one undoable step, says what was found, and tells the form', async () => {
    class LoadedImage {
      naturalWidth = 200
      naturalHeight = 100
      onload: (() => void) | null = null
      set src(_: string) {
        setTimeout(() => this.onload?.())
      }
    }
    vi.stubGlobal('Image', LoadedImage)
    const ctx = pixelContext(200, 100)
    vi.spyOn(HTMLCanvasElement.prototype, 'getContext').mockReturnValue(ctx as unknown as CanvasRenderingContext2D)
    const find = vi.fn(async () => REPORT)
    const brush = mount(MaskBrush, { props: { src: 'blob:x', findText: find } })
    await new Promise((r) => setTimeout(r))
    await flushPromises()
    expect(brush.get('[data-testid="undo"]').attributes('disabled')).toBeDefined()

    await brush.get('[data-testid="find-text"]').trigger('click')
    await flushPromises()

    expect(find).toHaveBeenCalledOnce()
    expect(ctx.fill).toHaveBeenCalledTimes(2)
    expect(brush.get('[data-testid="text-found"]').text()).toContain('Found 2 boxes of text')
    expect(brush.get('[data-testid="text-found"]').text()).toContain('1 box dropped as implausible')
    expect(brush.emitted('textDrawn')).toEqual([[REPORT]])
    expect(brush.get('[data-testid="undo"]').attributes('disabled')).toBeUndefined()
    expect(brush.text()).toContain('Painted areas will be filled in')
    await brush.get('[data-testid="undo"]').trigger('click') // the boxes go, as a stroke would
    expect(ctx.getImageData().data.some((v) => v > 0)).toBe(false)
    expect(brush.text()).toContain('Optional: paint over what to remove.')
  })

  it('shows why finding text failed', async () => {
    const brush = mount(MaskBrush, { props: { src: 'blob:x', findText: vi.fn(async () => Promise.reject(new Error('Finding text failed: boom'))) } })
    ;(brush.vm as unknown as { $: { setupState: { ready: boolean } } }).$.setupState.ready = true
    await flushPromises()
    await brush.get('[data-testid="find-text"]').trigger('click')
    await flushPromises()
    expect(brush.get('[data-testid="text-found"]').text()).toBe('Finding text failed: boom')
    expect(brush.get('[data-testid="text-found"]').attributes('role')).toBe('alert')
  })
})
