import { describe, expect, it } from 'vitest'
import { jobWarnings, whatRan } from '../src/lib/whatran'

describe('whatRan', () => {
  it('names a classical stand-in as a fallback, with the weights that were missing', () => {
    const inpaint = whatRan('inpaint', { model: 'telea', weights: 'fallback: opencv-telea', fallback: true })
    expect(inpaint).toEqual({ fallback: true, text: 'Classical fallback: opencv-telea (no LaMa weights installed; see README)' })
    expect(whatRan('denoise', { model: 'bm3d', weights: 'fallback: bm3d', fallback: true })!.text).toBe(
      'Classical fallback: bm3d (no DRUNet weights installed; see README)',
    )
  })

  it('names the model and its weights when they ran', () => {
    const ran = whatRan('upscale', { model: 'SRVGGNetCompact', weights: 'realesr-animevideov3', weights_sha256: 'abcdef0123456789', fallback: false })
    expect(ran).toEqual({ fallback: false, text: 'SRVGGNetCompact · realesr-animevideov3 · sha256 abcdef012345…' })
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
