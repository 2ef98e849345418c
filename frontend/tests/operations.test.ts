import { describe, expect, it } from 'vitest'
import {
  OPERATIONS,
  choiceLabel,
  defaultOptions,
  loadOperations,
  operation,
  optionLabel,
  requestOptions,
  servedOperation,
  useServedOperations,
  type ServedOperation,
} from '../src/lib/operations'
import served from './served-operations.json'
import { mainResult } from '../src/lib/poll'
import { execution, result } from './fakes'

const servedOps = served as ServedOperation[]

describe('operations', () => {
  it('offers none before the schema arrives, then the served ones, and only inpaint takes a mask', async () => {
    useServedOperations([])
    expect(OPERATIONS).toEqual([])
    await loadOperations({ operations: async () => servedOps })
    // Every served operation but a preview, in the server's order (a newly registered one too).
    const tabs = servedOps.filter((o) => !o.preview_for).map((o) => o.name)
    expect(tabs).toEqual(expect.arrayContaining(['upscale', 'denoise', 'inpaint']))
    expect(OPERATIONS.map((o) => o.name)).toEqual(tabs)
    expect(OPERATIONS.filter((o) => o.acceptsMask).map((o) => o.name)).toEqual(['inpaint'])
  })

  it('takes every word people read from the server, and an operation it adds with no code here', () => {
    const added: ServedOperation = {
      ...servedOps.find((o) => o.name === 'denoise')!,
      name: 'colourise' as ServedOperation['name'],
      label: 'Colourise',
      description: 'Adds colour to a black-and-white photo.',
      options: [{ ...servedOps[0].options[0], name: 'model', label: 'Colouring model', choice_labels: { ddcolor: 'DDColor' } }],
    }
    useServedOperations([...servedOps, added])
    const labels = OPERATIONS.map((o) => [o.name, o.label])
    expect(labels).toEqual([...servedOps.filter((o) => !o.preview_for).map((o) => [o.name, o.label]), ['colourise', 'Colourise']])
    expect(labels).toEqual(expect.arrayContaining([['upscale', 'Upscale'], ['inpaint', 'Remove text']]))
    expect(operation('colourise').description).toBe('Adds colour to a black-and-white photo.')
    const model = operation('colourise').options[0]
    expect([optionLabel(model), choiceLabel(model, 'ddcolor'), choiceLabel(model, 'other')]).toEqual(['Colouring model', 'DDColor', 'other'])
    expect(optionLabel(operation('upscale').options.find((o) => o.name === 'tile')!)).toBe('Tile size (px)')
  })

  it('falls back to the names where an older server serves no words', () => {
    const older = servedOps.map(({ label: _l, description: _d, result_job: _r, ...op }) => ({
      ...op,
      options: op.options.map(({ label: _ol, choice_labels: _c, ...o }) => o),
    }))
    useServedOperations(older as ServedOperation[])
    const upscale = operation('upscale')
    expect([upscale.label, upscale.description, upscale.resultJob]).toEqual(['upscale', '', null])
    const model = upscale.options[0]
    expect([optionLabel(model), choiceLabel(model, 'realesrgan-x4plus')]).toEqual(['model', 'realesrgan-x4plus'])
    useServedOperations(servedOps)
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
  const twoJobs = [
    result('detect-text', 'results/u/E/detect-text/result.png', '/d/1'),
    result('inpaint', 'results/u/E/inpaint/result.png', '/d/2'),
  ]

  it("shows the served result job's image: inpaint's filled image, not the OCR job's mask", () => {
    useServedOperations(servedOps)
    const e = execution({ operation: 'inpaint', results: twoJobs })
    expect(mainResult(e, servedOperation('inpaint'))?.url).toBe('/d/2')
    // Whichever job the server names, wherever its image is listed.
    expect(mainResult(e, { name: 'inpaint', resultJob: 'detect-text' })?.url).toBe('/d/1')
    expect(mainResult(execution({ operation: 'inpaint', results: [...twoJobs].reverse() }), servedOperation('inpaint'))?.url).toBe('/d/2')
  })

  it('without a result job served: the job named like the operation, else the last image', () => {
    const e = execution({ operation: 'inpaint', results: [...twoJobs].reverse() })
    expect(mainResult(e, { name: 'inpaint', resultJob: null })?.url).toBe('/d/2')
    expect(mainResult(e, { name: 'colourise', resultJob: null })?.url).toBe('/d/1')
  })

  it('has nothing to show before a result exists', () => {
    expect(mainResult(execution(), servedOperation('upscale'))).toBeNull()
  })
})
