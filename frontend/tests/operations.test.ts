import { describe, expect, it } from 'vitest'
import { OPERATIONS, defaultOptions, loadOperations, operation, requestOptions, type ServedOperation } from '../src/lib/operations'
import served from './served-operations.json'
import { mainResult } from '../src/lib/poll'
import { execution, result } from './fakes'

describe('operations', () => {
  it('offers the three operations, and only inpaint takes a mask', () => {
    expect(OPERATIONS.map((o) => o.name)).toEqual(['upscale', 'denoise', 'inpaint'])
    expect(OPERATIONS.filter((o) => o.acceptsMask).map((o) => o.name)).toEqual(['inpaint'])
  })

  it('starts each operation with the defaults GET /operations serves', async () => {
    const api = { operations: async () => served as ServedOperation[] }
    await loadOperations(api)
    expect(defaultOptions(operation('denoise'))).toEqual({ method: 'auto', sigma: null, tile: 0, precision: 'auto', format: 'png', quality: 95 })
    expect(operation('upscale').input?.max_pixels).toBe(4_000_000)
  })

  it('leaves empty values out of the request so the job chooses', () => {
    expect(requestOptions({ method: 'tv', sigma: null, format: 'png', quality: '' })).toEqual({ method: 'tv', format: 'png' })
    expect(requestOptions({ sigma: Number.NaN, outscale: 2 })).toEqual({ outscale: 2 })
  })

  it('refuses an unknown operation', () => {
    expect(() => operation('sharpen')).toThrow('unknown operation sharpen')
  })
})

describe('mainResult', () => {
  it("shows inpaint's filled image, not the OCR job's mask", () => {
    const e = execution({
      operation: 'inpaint',
      results: [
        result('detect-text', 'results/u/E/detect-text/result.png', '/d/1'),
        result('inpaint', 'results/u/E/inpaint/result.png', '/d/2'),
      ],
    })
    expect(mainResult(e)?.url).toBe('/d/2')
  })

  it('has nothing to show before a result exists', () => {
    expect(mainResult(execution())).toBeNull()
  })
})
