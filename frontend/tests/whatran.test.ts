import { beforeEach, describe, expect, it } from 'vitest'
import { servedOperation, specOf, useServedOperations, type ServedOperation } from '../src/lib/operations'
import { jobWarnings, sizeChange, whatRan } from '../src/lib/whatran'
import { downloadFileName, durationWords, isPreview, operationWords, optionsThatMatter, statusWords } from '../src/lib/words'
import served from './served-operations.json'

beforeEach(() => useServedOperations(served as ServedOperation[]))

describe('whatRan', () => {
  it('names a classical stand-in as a fallback, with the weights that were missing', () => {
    const inpaint = whatRan(servedOperation('inpaint'), { model: 'fsr', weights: 'fallback: opencv-fsr-fast', fallback: true, device: 'cpu' })
    expect(inpaint).toEqual({ fallback: true, text: 'OpenCV FSR fill (no LaMa weights installed)', device: 'the CPU' })
    expect(whatRan(servedOperation('denoise'), { model: 'bm3d', weights: 'fallback: bm3d', fallback: true })!.text).toBe(
      'BM3D (no DRUNet weights installed)',
    )
  })

  it('names the model in words, and the GPU it ran on', () => {
    const metadata = { model: 'realesr-animevideov3', weights: 'x.pth', fallback: false, device: 'cuda:0 (NVIDIA H100 80GB HBM3)' }
    expect(whatRan(servedOperation('upscale'), metadata)).toEqual({
      fallback: false,
      text: 'Real-ESRGAN animevideo v3',
      device: 'the GPU (NVIDIA H100 80GB HBM3)',
    })
    expect(whatRan(servedOperation('upscale'), undefined)).toBeNull()
  })

  it('names the weights a fallback stood in for as served, and a model without any when none are', () => {
    const fallback = { model: 'tv', weights: 'fallback: tv', fallback: true }
    expect(whatRan({ name: 'colourise', aiModel: 'DDColor' }, fallback)!.text).toBe('Total variation (no DDColor weights installed)')
    // An operation this server does not serve (or an older server without ai_model): no weights named.
    expect(servedOperation('not-served').aiModel).toBeNull()
    expect(whatRan(servedOperation('not-served'), fallback)!.text).toBe('Total variation (no model weights installed)')
  })
})

describe('jobWarnings', () => {
  it('collects every job’s warnings', () => {
    const metadata = { 'detect-text': { warnings: ['the mask covers 100% of the image'] }, inpaint: { warnings: [] }, other: null }
    expect(jobWarnings(metadata)).toEqual(['the mask covers 100% of the image'])
    expect(jobWarnings(undefined)).toEqual([])
  })
})

describe('an execution in words', () => {
  it('says how long it took as a person would', () => {
    expect([0.42, 9.96, 12.4, 65, 120, 3725].map(durationWords)).toEqual(['0.4 s', '10.0 s', '12 s', '1 min 5 s', '2 min', '1 h 2 min'])
    expect(['SUCCEEDED', 'FAILED', 'ABORTED'].map(statusWords)).toEqual(['Done', 'Failed', 'Stopped'])
  })

  it('names the one or two options that matter', () => {
    expect(optionsThatMatter(servedOperation('upscale'), { model: 'realesrgan-x4plus', outscale: 2, tile: 32 })).toBe('Photos (Real-ESRGAN x4plus) · ×2')
    expect(optionsThatMatter(servedOperation('inpaint'), { use_ocr: false })).toBe('mask as drawn')
    expect(optionsThatMatter(servedOperation('denoise'), {})).toBe('')
    // Whatever the server names, in its choice labels; nothing where it names none (an older server).
    const denoise = servedOperation('denoise')
    expect(optionsThatMatter({ ...denoise, summaryOptions: ['format'] }, { format: 'webp', method: 'tv' })).toBe('WebP')
    const older = specOf({ ...(served as ServedOperation[]).find((o) => o.name === 'denoise')!, summary_options: undefined })
    expect(optionsThatMatter(older, { method: 'tv', sigma: 25 })).toBe('')
  })

  it('names an operation and tells a preview by what the server serves, an unknown one by its name', () => {
    expect(operationWords('inpaint')).toBe('Remove text')
    expect(operationWords('not-served')).toBe('not-served')
    expect([isPreview('detect_text'), isPreview('inpaint'), isPreview('not-served')]).toEqual([true, false, false])
    useServedOperations((served as ServedOperation[]).map(({ preview_for: _, ...op }) => op)) // an older server
    expect(isPreview('detect_text')).toBe(false)
  })

  it('names a download after the original, the operation, the model and the scale', () => {
    const upscale = { model: 'realesrgan-x4plus', outscale: 4 }
    expect(downloadFileName('cat.jpg', 'upscale', upscale, {}, 'cat-upscaled.png')).toBe('cat-upscale-x4plus-x4.png')
    const fsr = { model: 'fsr', weights: 'fallback: opencv-fsr-fast' }
    expect(downloadFileName('poster.png', 'inpaint', fsr, {}, 'x.png')).toBe('poster-inpaint-fsr-fast.png')
    expect(downloadFileName('a.b.png', 'denoise', undefined, { method: 'tv' }, 'r.webp')).toBe('a.b-denoise-tv.webp')
  })
})

describe('sizeChange', () => {
  it('says the size before the first job and after the last', () => {
    const metadata = {
      'detect-text': { input: { width: 640, height: 480 }, output: { width: 640, height: 480 } },
      inpaint: { output: { width: 640, height: 480 } },
    }
    expect(sizeChange(metadata)).toBe('640 × 480 px, unchanged')
    expect(sizeChange({ upscale: { input: { width: 256, height: 192 }, output: { width: 1024, height: 768 } } })).toBe(
      '256 × 192 px → 1024 × 768 px',
    )
  })

  it('says nothing when a side was not recorded', () => {
    expect(sizeChange(undefined)).toBeNull()
    expect(sizeChange({ upscale: { input: { width: 256, height: 192 } } })).toBeNull()
  })
})
