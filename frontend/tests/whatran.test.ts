import { describe, expect, it } from 'vitest'
import { jobWarnings, whatRan } from '../src/lib/whatran'
import { downloadFileName, durationWords, optionsThatMatter, statusWords } from '../src/lib/words'

describe('whatRan', () => {
  it('names a classical stand-in as a fallback, with the weights that were missing', () => {
    const inpaint = whatRan('inpaint', { model: 'fsr', weights: 'fallback: opencv-fsr-fast', fallback: true, device: 'cpu' })
    expect(inpaint).toEqual({ fallback: true, text: 'OpenCV FSR fill (no LaMa weights installed)', device: 'the CPU' })
    expect(whatRan('denoise', { model: 'bm3d', weights: 'fallback: bm3d', fallback: true })!.text).toBe(
      'BM3D (no DRUNet weights installed)',
    )
  })

  it('names the model in words, and the GPU it ran on', () => {
    const metadata = { model: 'realesr-animevideov3', weights: 'x.pth', fallback: false, device: 'cuda:0 (NVIDIA H100 80GB HBM3)' }
    expect(whatRan('upscale', metadata)).toEqual({
      fallback: false,
      text: 'Real-ESRGAN animevideo v3',
      device: 'the GPU (NVIDIA H100 80GB HBM3)',
    })
    expect(whatRan('upscale', undefined)).toBeNull()
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
    expect(optionsThatMatter('upscale', { model: 'realesrgan-x4plus', outscale: 2, tile: 32 })).toBe('Photos (Real-ESRGAN x4plus) · ×2')
    expect(optionsThatMatter('inpaint', { use_ocr: false })).toBe('mask as drawn')
    expect(optionsThatMatter('denoise', {})).toBe('')
  })

  it('names a download after the original, the operation, the model and the scale', () => {
    const upscale = { model: 'realesrgan-x4plus', outscale: 4 }
    expect(downloadFileName('cat.jpg', 'upscale', upscale, {}, 'cat-upscaled.png')).toBe('cat-upscale-x4plus-x4.png')
    const fsr = { model: 'fsr', weights: 'fallback: opencv-fsr-fast' }
    expect(downloadFileName('poster.png', 'inpaint', fsr, {}, 'x.png')).toBe('poster-inpaint-fsr-fast.png')
    expect(downloadFileName('a.b.png', 'denoise', undefined, { method: 'tv' }, 'r.webp')).toBe('a.b-denoise-tv.webp')
  })
})
