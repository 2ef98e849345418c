import { describe, expect, it } from 'vitest'
import { estimateBatch, estimateRun, secondsInWords } from '../src/lib/estimate'
import { specOf, type ServedOperation } from '../src/lib/operations'
import { execution } from './fakes'
import served from './served-operations.json'

// As the server serves them: the model is the option its model_option names.
const servedSpec = (name: string) => specOf((served as ServedOperation[]).find((o) => o.name === name)!)
const upscale = servedSpec('upscale')
const denoise = servedSpec('denoise')

const run = (id: string, model: string, side: number, duration: number, status: 'SUCCEEDED' | 'FAILED' = 'SUCCEEDED') =>
  execution({
    execution_id: id,
    status,
    duration_s: duration,
    options: { model },
    metadata: { upscale: { input: { width: side, height: side } } },
  })

describe('estimateRun', () => {
  const past = [
    run('A', 'realesrgan-x4plus', 256, 120),
    run('B', 'realesr-animevideov3', 256, 6),
    run('C', 'realesrgan-x4plus', 96, 20),
    run('D', 'realesrgan-x4plus', 512, 1, 'FAILED'),
  ]
  const defaults = { model: 'realesrgan-x4plus' }

  it('takes the same model’s nearest-sized run, scaled up by the pixel ratio', () => {
    const e = estimateRun(past, upscale, {}, defaults, 512 * 512)!
    expect(e.seconds).toBe(480) // A: 120 s at a quarter of the pixels
    expect(e.basis).toBe('a past upscale with realesrgan-x4plus of 0.07 MP took 120.0 s')
    expect(estimateRun(past, upscale, { model: 'realesr-animevideov3' }, defaults, 256 * 256)!.seconds).toBe(6)
  })

  it('never scales down below a smaller image’s past time (fixed costs stay)', () => {
    expect(estimateRun(past, upscale, {}, defaults, 64 * 64)!.seconds).toBe(20)
  })

  it('has no estimate without a succeeded run of that model, or without the size', () => {
    expect(estimateRun(past, upscale, { model: 'realesrgan-x4plus-anime' }, defaults, 1e4)).toBeNull()
    expect(estimateRun(past, denoise, {}, {}, 1e4)).toBeNull()
    expect(estimateRun(past, upscale, {}, defaults, null)).toBeNull()
  })

  it('follows the served model option, and without one (an older server) takes any run of the operation', () => {
    expect(upscale.modelOption).toBe('model')
    const byMethod = { ...upscale, modelOption: 'method' } // the same runs, the model picked by another option
    expect(estimateRun(past, byMethod, { model: 'realesrgan-x4plus-anime' }, {}, 256 * 256)!.seconds).toBe(120)
    const older = specOf({ ...(served as ServedOperation[]).find((o) => o.name === 'upscale')!, model_option: undefined })
    expect(older.modelOption).toBeNull()
    const e = estimateRun(past, older, { model: 'realesrgan-x4plus-anime' }, defaults, 256 * 256)!
    expect(e.basis).toBe('a past upscale of 0.07 MP took 120.0 s')
  })

  it('a batch: at most the sum of its images, said as an upper bound', () => {
    const e = estimateBatch(past, upscale, {}, defaults, [512 * 512, 64 * 64])!
    expect(e.seconds).toBe(500) // 480 + 20
    expect(e.basis).toBe(
      'at most, for 2 images: a past upscale with realesrgan-x4plus of 0.07 MP took 120.0 s, and a batch starts up once',
    )
    expect(estimateBatch(past, upscale, {}, defaults, [512 * 512, null])).toBeNull() // a size unknown: no figure
  })

  it('says it in seconds or minutes', () => {
    expect([secondsInWords(0.2), secondsInWords(42), secondsInWords(480)]).toEqual(['1 s', '42 s', '8 min'])
  })
})
