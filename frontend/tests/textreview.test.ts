// The review of the text found before it goes (FindTextReview in MaskBrush), and a model that is not
// installed shown in the form with the command that installs it.
import { flushPromises, mount } from '@vue/test-utils'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import FindTextReview from '../src/components/FindTextReview.vue'
import MaskBrush from '../src/components/MaskBrush.vue'
import OperationPicker from '../src/components/OperationPicker.vue'
import { missingModels, operation, optionProblems, useServedOperations, type ServedOperation } from '../src/lib/operations'
import { findText, type TextReport } from '../src/lib/textboxes'
import {
  confidenceWords,
  confirmLabel,
  intersect,
  lineRect,
  linesToRemove,
  maskToPaint,
  redrawAfterTaking,
  reviewSummary,
} from '../src/lib/textreview'
import { execution, json, result } from './fakes'
import served from './served-operations.json'

const REPORT: TextReport = {
  width: 200,
  height: 100,
  dilate_px: 8,
  min_score: 0.5,
  lines: [
    { text: 'HELLO', score: 0.98, box: [10, 10, 60, 30], polygon: [[10, 10], [60, 10], [60, 30], [10, 30]] },
    { text: 'WORLD', score: 0.914, box: [80, 50, 150, 70], polygon: [[80, 50], [150, 50], [150, 70], [80, 70]] },
  ],
  dropped_lines: [{ text: '0', score: 0.69, box: [170, 80, 180, 90], reason: 'one character' }],
}

describe('the review, as data', () => {
  it('says the confidence in words', () => {
    expect(confidenceWords(0.914)).toBe('91% sure')
    expect(confidenceWords(1)).toBe('100% sure')
    expect(confidenceWords(1.2)).toBe('100% sure')
  })

  it("takes a line's box grown by the job's growth, scaled to the canvas and clamped to it", () => {
    expect(lineRect(REPORT.lines[0], REPORT, 200, 100)).toEqual({ x: 1, y: 1, width: 68, height: 38 })
    // A canvas twice the report's size: everything doubles; the edge clamps.
    expect(lineRect({ box: [0, 0, 10, 10] }, { ...REPORT, dilate_px: 0 }, 400, 200)).toEqual({ x: 0, y: 0, width: 24, height: 24 })
  })

  it('redraws only the overlapping part of a neighbour still to go when a line is taken off', () => {
    const rects = [
      { x: 0, y: 0, width: 50, height: 20 },
      { x: 40, y: 10, width: 50, height: 20 },
      { x: 100, y: 100, width: 10, height: 10 },
    ]
    expect(intersect(rects[0], rects[1])).toEqual({ x: 40, y: 10, width: 10, height: 10 })
    expect(intersect(rects[0], rects[2])).toBeNull()
    expect(redrawAfterTaking(rects, 0, [false, true, true])).toEqual([{ index: 1, clip: { x: 40, y: 10, width: 10, height: 10 } }])
    // A neighbour the user also took off is not drawn back.
    expect(redrawAfterTaking(rects, 0, [false, false, true])).toEqual([])
  })

  it('lists what goes and words the confirmation by what was read', () => {
    expect(linesToRemove(REPORT, [true, false]).map((l) => l.text)).toEqual(['HELLO'])
    expect(confirmLabel(REPORT.lines, false)).toBe('Remove these 2 words')
    expect(confirmLabel(REPORT.lines.slice(0, 1), false)).toBe('Remove this word')
    const lines = [{ ...REPORT.lines[0], text: 'HELLO WORLD' }, REPORT.lines[1]]
    expect(confirmLabel(lines, false)).toBe('Remove these 2 lines of text')
    expect(confirmLabel(lines.slice(0, 1), false)).toBe('Remove this line of text')
    expect(confirmLabel([], true)).toBe('Fill only what you painted')
    expect(confirmLabel([], false)).toBe('Nothing to remove')
    expect(reviewSummary(REPORT, [true, false], true)).toBe(
      'Read 2 words; 1 of 2 ticked to remove (its letters are painted on the mask). Untick what should stay.',
    )
    expect(reviewSummary({ lines: [] }, [], true)).toBe('No text found.')
  })

  it("turns the job's white-on-black mask into mask paint, transparent where it is off", () => {
    const data = new Uint8ClampedArray([255, 255, 255, 255, 0, 0, 0, 255, 200, 200, 200, 255, 100, 100, 100, 255])
    expect(maskToPaint(data, [1, 2, 3, 4])).toBe(2)
    expect([...data]).toEqual([1, 2, 3, 4, 0, 0, 0, 0, 1, 2, 3, 4, 0, 0, 0, 0])
  })
})

describe('finding text', () => {
  it("hands back the job's mask with the report, when the run lists it", async () => {
    const id = '01JDETECT00000000000000000B'
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
      execution: vi.fn(async () => done),
    }
    const report = await findText(api, 'detect_text', 'u', {}, 'K', (async () => json(REPORT)) as unknown as typeof fetch)
    expect(report.mask_url).toBe('/downloads/mask')
    const withoutMask = { ...done, results: done.results.slice(0, 1) }
    api.execution.mockResolvedValue(withoutMask)
    const bare = await findText(api, 'detect_text', 'u', {}, 'K2', (async () => json(REPORT)) as unknown as typeof fetch)
    expect(bare.mask_url).toBeUndefined()
  })
})

describe('FindTextReview', () => {
  it('lists each line with its confidence and number, ticked; unticking one tells its owner', async () => {
    const review = mount(FindTextReview, { props: { report: REPORT, removing: [true, true], letters: true } })
    const texts = review.findAll('[data-testid="text-line-text"]').map((t) => t.text())
    expect(texts).toEqual(['HELLO', 'WORLD'])
    expect(review.text()).toContain('98% sure')
    expect(review.text()).toContain('91% sure')
    expect(review.get('[data-testid="text-review-dropped"]').text()).toContain('“0” (69% sure: one character)')
    expect((review.get('[data-testid="text-line-2"]').element as HTMLInputElement).checked).toBe(true)
    expect(review.find('[data-testid="confirm-text"]').exists()).toBe(false) // not asked: no Run waits
    await review.get('[data-testid="text-line-2"]').setValue(false)
    expect(review.emitted('toggle')).toEqual([[1, false]])
  })

  it('asks before a Run: the confirmation says how many go, and cannot confirm nothing', async () => {
    const review = mount(FindTextReview, { props: { report: REPORT, removing: [true, true], pending: true } })
    expect(review.get('[data-testid="confirm-text"]').text()).toBe('Remove these 2 words')
    await review.get('[data-testid="confirm-text"]').trigger('click')
    expect(review.emitted('confirm')).toHaveLength(1)
    await review.setProps({ removing: [false, false] })
    expect(review.get('[data-testid="confirm-text"]').attributes('disabled')).toBeDefined()
    await review.get('[data-testid="cancel-text"]').trigger('click')
    expect(review.emitted('cancel')).toHaveLength(1)
  })

  it('names the boxes as a fallback when they stand in for the letters', () => {
    const review = mount(FindTextReview, {
      props: { report: REPORT, removing: [true, true], fallback: 'Shown and filled as boxes (a fallback): …' },
    })
    expect(review.get('[data-testid="text-review-fallback"]').text()).toContain('a fallback')
    expect(review.text()).toContain('its boxes are painted on the mask')
  })
})

describe('MaskBrush: the review before a Run with OCR on', () => {
  /** A canvas context over real pixels' alpha: a fill paints every pixel, so "painted" can be read back. */
  function pixelContext(width: number, height: number) {
    let alpha = new Uint8ClampedArray(width * height * 4)
    const noop = () => undefined
    const ctx = {
      fillStyle: '',
      strokeStyle: '',
      lineWidth: 1,
      lineJoin: 'miter',
      globalCompositeOperation: 'source-over',
      beginPath: noop,
      moveTo: noop,
      lineTo: noop,
      closePath: noop,
      rect: noop,
      clip: noop,
      save: noop,
      restore: noop,
      fillRect: noop,
      stroke: noop,
      fill: vi.fn(() => alpha.fill(255)),
      clearRect: vi.fn(() => alpha.fill(0)),
      getImageData: () => ({ data: alpha.slice(), width, height }),
      putImageData: (image: { data: Uint8ClampedArray }) => (alpha = image.data.slice()),
    }
    return ctx
  }

  beforeEach(() => {
    class LoadedImage {
      naturalWidth = 200
      naturalHeight = 100
      onload: (() => void) | null = null
      set src(_: string) {
        setTimeout(() => this.onload?.())
      }
    }
    vi.stubGlobal('Image', LoadedImage)
    vi.spyOn(HTMLCanvasElement.prototype, 'toBlob').mockImplementation((done: BlobCallback) => done(new Blob(['png'])))
    window.localStorage.clear()
  })
  afterEach(() => {
    vi.unstubAllGlobals()
    vi.restoreAllMocks()
  })

  async function mounted(find: () => Promise<TextReport>) {
    const ctx = pixelContext(200, 100)
    vi.spyOn(HTMLCanvasElement.prototype, 'getContext').mockReturnValue(ctx as unknown as CanvasRenderingContext2D)
    const brush = mount(MaskBrush, { props: { src: 'blob:x', findText: find, ocr: true } })
    await new Promise((r) => setTimeout(r))
    await flushPromises()
    const maskBlob = () => (brush.vm as unknown as { maskBlob: () => Promise<Blob | null> }).maskBlob()
    return { brush, ctx, maskBlob }
  }

  it('finds the text, shows it, and gives the mask only once the user confirms; the form is told', async () => {
    const { brush, maskBlob } = await mounted(vi.fn(async () => REPORT)) // no mask_url: the boxes, as a fallback
    let mask: Blob | null | undefined
    const asked = maskBlob().then((m) => (mask = m))
    await flushPromises()
    expect(brush.get('[data-testid="text-review-fallback"]').text()).toContain('a fallback')
    expect(brush.findAll('[data-testid="text-boxes"] polygon')).toHaveLength(2)
    expect(mask).toBeUndefined() // the Run waits
    expect(brush.emitted('textDrawn')).toBeUndefined()
    await brush.get('[data-testid="confirm-text"]').trigger('click')
    await asked
    expect(mask).toBeInstanceOf(Blob)
    expect(brush.emitted('textDrawn')).toEqual([[REPORT]])
  })

  it('a line unticked comes off the mask; every line unticked and nothing painted: nothing to confirm', async () => {
    const { brush, ctx, maskBlob } = await mounted(vi.fn(async () => REPORT))
    const asked = maskBlob().catch((e: Error) => e)
    await flushPromises()
    await brush.get('[data-testid="text-line-1"]').setValue(false)
    expect(ctx.clearRect).toHaveBeenCalledWith(1, 1, 68, 38)
    expect(brush.get('[data-testid="confirm-text"]').text()).toBe('Remove this word')
    await brush.get('[data-testid="cancel-text"]').trigger('click')
    expect(((await asked) as Error).message).toBe('Not run: the text found was not confirmed.')
    expect(brush.find('[data-testid="text-review"]').exists()).toBe(false)
    expect(brush.emitted('textDrawn')).toBeUndefined()
  })

  it('no text found and nothing painted: says so and the Run is not made', async () => {
    const { brush, maskBlob } = await mounted(vi.fn(async () => ({ ...REPORT, lines: [] })))
    await expect(maskBlob()).rejects.toThrow('No text found')
    expect(brush.get('[data-testid="text-found"]').text()).toContain('No text found')
  })

  it('"Skip the review" is remembered, and then the Run goes without finding text first', async () => {
    const find = vi.fn(async () => REPORT)
    const { brush, maskBlob } = await mounted(find)
    await brush.get('[data-testid="skip-text-review"]').setValue(true)
    expect(window.localStorage.getItem('aiorch.skip-text-review')).toBe('true')
    expect(await maskBlob()).toBeNull() // nothing painted, and OCR is left to the run
    expect(find).not.toHaveBeenCalled()
  })
})

describe('a model that is not installed', () => {
  it('is shown disabled, "not installed", with the command that installs it, and refused before Run', () => {
    useServedOperations(served as ServedOperation[])
    const inpaint = operation('inpaint')
    expect(missingModels(inpaint, 'method').map((m) => m.choice)).toEqual(['lama'])
    expect(optionProblems(inpaint, { method: 'lama' }).method).toBe(
      'method lama needs the model big-lama, which is not installed where the jobs run; an operator installs it with `aiorch weights pull big-lama`',
    )
    expect(optionProblems(inpaint, { method: 'auto' })).toEqual({})
    const picker = mount(OperationPicker, { props: { modelValue: 'inpaint', options: {}, part: 'options' } })
    const lama = picker.get('select[name="method"] option[value="lama"]')
    expect(lama.attributes('disabled')).toBeDefined()
    expect(lama.text()).toContain('not installed')
    expect(picker.get('select[name="method"] option[value="telea"]').attributes('disabled')).toBeUndefined()
    expect(picker.get('[data-testid="not-installed-lama"]').text()).toBe(
      'LaMa (needs weights): not installed here. An operator installs it with aiorch weights pull big-lama',
    )
  })
})
