import { flushPromises, mount } from '@vue/test-utils'
import { beforeEach, describe, expect, it, vi } from 'vitest'
import AnalyticsPage from '../src/pages/AnalyticsPage.vue'
import CompareSlider from '../src/components/CompareSlider.vue'
import HistoryList from '../src/components/HistoryList.vue'
import ImagePicker from '../src/components/ImagePicker.vue'
import MaskBrush from '../src/components/MaskBrush.vue'
import OperationPicker from '../src/components/OperationPicker.vue'
import OpsPage from '../src/pages/OpsPage.vue'
import ProgressPanel from '../src/components/ProgressPanel.vue'
import { defaultOptions, operation, useServedOperations, type OptionValue, type ServedOperation } from '../src/lib/operations'
import served from './served-operations.json'
import { execution, result } from './fakes'

describe('OperationPicker', () => {
  // The schema exactly as GET /operations serves it (tests/unit/core/test_served_operations_fixture.py
  // fails when this file is not what the server answers).
  beforeEach(() => useServedOperations(served as ServedOperation[]))

  function picker(name = 'upscale') {
    return mount(OperationPicker, {
      props: {
        modelValue: name,
        'onUpdate:modelValue': (v: string) => picker$.setProps({ modelValue: v }),
        options: defaultOptions(operation(name)),
        'onUpdate:options': (v: Record<string, OptionValue | null>) => picker$.setProps({ options: v }),
      },
    })
  }
  let picker$: ReturnType<typeof picker>
  const FIELDS = 'select, input[type="number"], input[type="checkbox"]'
  const fields = () => picker$.findAll(FIELDS).map((e) => e.attributes('name'))
  const plain = () => picker$.get('[data-testid="plain-options"]').findAll(FIELDS).map((e) => e.attributes('name'))
  const advanced = () => picker$.find('[data-testid="advanced"]').exists()
    ? picker$.get('[data-testid="advanced"]').findAll(FIELDS).map((e) => e.attributes('name'))
    : []

  it('draws the form from the served schema, with limits and defaults shown', async () => {
    picker$ = picker()
    // The plain choices first; the expert settings under "Advanced"; JPEG quality only for a lossy format.
    expect(plain()).toEqual(['model', 'outscale', 'format'])
    expect(advanced()).toEqual(['tile', 'tile_overlap', 'batch', 'precision'])
    expect(picker$.find('input[name="quality"]').exists()).toBe(false)
    const outscale = picker$.get('input[name="outscale"]')
    expect([outscale.attributes('min'), outscale.attributes('max'), outscale.attributes('placeholder')]).toEqual([
      '0',
      '16',
      'automatic',
    ])
    expect((picker$.get('select[name="model"]').element as HTMLSelectElement).value).toBe('realesrgan-x4plus')
    expect((picker$.get('input[name="tile_overlap"]').element as HTMLInputElement).value).toBe('32')
    picker$.setProps({ options: { ...picker$.props('options'), format: 'jpeg' } })
    await flushPromises()
    expect(plain()).toEqual(['model', 'outscale', 'format', 'quality'])
    expect((picker$.get('input[name="quality"]').element as HTMLInputElement).value).toBe('95')
    expect(picker$.text()).toContain('Allowed: a whole number from 1 to 100.')  // the server's words
  })

  it('never offers an operator setting', () => {
    for (const name of ['upscale', 'denoise', 'inpaint']) {
      picker$ = picker(name)
      expect(fields()).not.toContain('weights')
      expect(fields()).not.toContain('device')
      expect(fields()).not.toContain('compile')
    }
  })

  it("switching operation resets the options to the new one's served defaults", async () => {
    picker$ = picker()
    await picker$.find('[data-testid="operation-denoise"]').setValue(true)
    expect(picker$.props('modelValue')).toBe('denoise')
    expect(picker$.props('options')).toEqual({ method: 'auto', sigma: null, tile: 0, precision: 'auto', format: 'png', quality: 95 })
    expect(picker$.find('select[name="method"]').exists()).toBe(true)
    expect(picker$.find('select[name="model"]').exists()).toBe(false)
  })

  it('an emptied number means "let the job decide" and a typed one is a number', async () => {
    picker$ = picker('denoise')
    await picker$.find('input[name="sigma"]').setValue('25')
    expect(picker$.props('options').sigma).toBe(25)
    await picker$.find('input[name="sigma"]').setValue('')
    expect(picker$.props('options').sigma).toBeNull()
  })

  it('inpaint offers every user option of both its jobs, OCR as a checkbox', async () => {
    picker$ = picker('inpaint')
    expect(plain()).toEqual(['use_ocr', 'method', 'format'])
    expect(advanced()).toEqual(['min_score', 'dilate_px', 'context_px', 'radius', 'max_side', 'precision'])
    await picker$.get('input[name="dilate_px"]').setValue('3')
    expect(picker$.props('options').dilate_px).toBe(3)
    const ocr = picker$.get('input[name="use_ocr"]')
    expect((ocr.element as HTMLInputElement).checked).toBe(true)
    await ocr.setValue(false)
    expect(picker$.props('options').use_ocr).toBe(false)
    // Without OCR its settings do not apply, and are not shown.
    expect(advanced()).toEqual(['context_px', 'radius', 'max_side', 'precision'])
  })

  it('offers an operation the server adds, in its served words and options, with no code for it', async () => {
    const denoise = (served as ServedOperation[]).find((o) => o.name === 'denoise')!
    const added = { ...denoise, name: 'colourise', label: 'Colourise', description: 'Adds colour.', summary_options: ['method'] }
    useServedOperations([...(served as ServedOperation[]), added as ServedOperation])
    picker$ = picker()
    const tab = picker$.get('[data-testid="operation-colourise"]')
    expect(tab.element.parentElement!.textContent!.trim()).toBe('Colourise')
    await tab.setValue(true)
    expect(picker$.get('.description').text()).toBe('Adds colour.')
    expect(plain()).toEqual(['method', 'format'])
    const method = picker$.get('select[name="method"]').findAll('option').map((o) => o.text())
    expect(method).toContain('Total variation (classical)') // the served choice label
    useServedOperations(served as ServedOperation[]) // served no more: nothing drawn for it, nothing thrown
    await flushPromises()
    expect(fields()).toEqual([])
    picker$.unmount()
  })

  it('draws no options before the schema arrives, and redraws when it does', async () => {
    useServedOperations((served as ServedOperation[]).map((op) => ({ ...op, options: [] })))
    picker$ = picker('inpaint')
    expect(fields()).toEqual([])
    useServedOperations(served as ServedOperation[])
    await flushPromises()
    expect(fields()).toContain('dilate_px')
  })
})

describe('ProgressPanel', () => {
  it('shows the stage with done/total and the percent', () => {
    const panel = mount(ProgressPanel, { props: { execution: execution() } })
    expect(panel.get('[data-testid="stage"]').text()).toBe('1 of 4 parts done')
    expect(panel.get('[data-testid="percent"]').text()).toBe('42%')
    expect(panel.get('progress').attributes('value')).toBe('42')
    expect(panel.find('[data-testid="cancel"]').exists()).toBe(true)
  })

  it('shows a failure in plain words and no cancel button', () => {
    const failed = execution({ status: 'FAILED', duration_s: 3.25, error: { type: 'JobFailed', message: 'The image is too large.' } })
    const panel = mount(ProgressPanel, { props: { execution: failed } })
    expect(panel.get('[data-testid="status"]').text()).toBe('Failed')
    expect(panel.get('[data-testid="execution-error"]').text()).toBe('The image is too large.')
    expect(panel.text()).toContain('Took 3.3 s')
    expect(panel.find('[data-testid="cancel"]').exists()).toBe(false)
  })

  it('asks to cancel', async () => {
    const panel = mount(ProgressPanel, { props: { execution: execution() } })
    await panel.get('[data-testid="cancel"]').trigger('click')
    expect(panel.emitted('cancel')).toHaveLength(1)
  })
})

describe('CompareSlider', () => {
  const props = { before: '/d/before', after: '/d/after', downloadName: 'upscale-E.png' }

  it('clips the result at the divider and moves it with the slider', async () => {
    const slider = mount(CompareSlider, { props })
    expect(slider.get('[data-testid="after-clip"]').attributes('style')).toContain('inset(0 0 0 50%)')
    await slider.get('[data-testid="split"]').setValue('20')
    expect(slider.get('[data-testid="after-clip"]').attributes('style')).toContain('inset(0 0 0 20%)')
    expect(slider.get('[data-testid="divider"]').attributes('style')).toContain('left: 20%')
  })

  it('zooms with the slider and the mouse wheel, between 1× and 8×', async () => {
    const slider = mount(CompareSlider, { props })
    await slider.get('[data-testid="zoom"]').setValue('3')
    expect(slider.get('.layers').attributes('style')).toContain('scale(3)')
    for (let i = 0; i < 30; i++) await slider.get('.viewport').trigger('wheel', { deltaY: -1 })
    expect(slider.get('.layers').attributes('style')).toContain('scale(8)')
    for (let i = 0; i < 30; i++) await slider.get('.viewport').trigger('wheel', { deltaY: 1 })
    expect(slider.get('.layers').attributes('style')).toContain('scale(1)')
  })

  it('drags a zoomed-in view within the image, and centres it again at 1×', async () => {
    const slider = mount(CompareSlider, { props, attachTo: document.body })
    const viewport = slider.get('.viewport')
    ;(viewport.element as HTMLElement).getBoundingClientRect = () => ({ left: 0, top: 0, width: 400, height: 400 }) as DOMRect
    await slider.get('[data-testid="zoom"]').setValue('2') // on the middle: pan (-200, -200)
    expect(slider.get('.layers').attributes('style')).toContain('translate(-200px, -200px) scale(2)')
    await viewport.trigger('pointerdown', { clientX: 100, clientY: 100 }) // far from the divider: a pan
    await viewport.trigger('pointermove', { clientX: 150, clientY: 80 })
    await viewport.trigger('pointerup')
    expect(slider.get('.layers').attributes('style')).toContain('translate(-150px, -220px) scale(2)')
    await viewport.trigger('pointerdown', { clientX: 0, clientY: 0 })
    await viewport.trigger('pointermove', { clientX: 900, clientY: 900 }) // no further than the image's edge
    await viewport.trigger('pointerup')
    expect(slider.get('.layers').attributes('style')).toContain('translate(0px, 0px) scale(2)')
    await slider.get('[data-testid="zoom"]').setValue('1')
    expect(slider.get('.layers').attributes('style')).toContain('translate(0px, 0px) scale(1)')
    slider.unmount()
  })

  it('offers the result for download under a readable name', () => {
    const link = mount(CompareSlider, { props }).get('[data-testid="download"]')
    expect(link.attributes('href')).toBe('/d/after')
    expect(link.attributes('download')).toBe('upscale-E.png')
  })
})

describe('HistoryList', () => {
  it('shows each execution as a card with its thumbnail, name, options and status, and re-opens one', async () => {
    const items = [
      execution({
        execution_id: 'B',
        status: 'SUCCEEDED',
        duration_s: 2,
        options: { model: 'realesr-animevideov3', tile: 32 },
        results: [result('upscale', 'results/u/B/upscale/result.png', '/d/big')],
        thumbnail: { key: 'results/u/B/upscale/thumbnail.webp', url: '/d/thumb', width: 256, height: 171 },
      }),
      execution({
        execution_id: 'A',
        status: 'FAILED',
        error: { type: 'X', message: 'not an image' },
        input_url: '/d/in',
        original_name: 'scan.tiff',
        duration_s: 65,
      }),
      // Find text's preview (the OCR boxes drawn on a mask) is not a run of its own: not listed.
      execution({ execution_id: 'P', operation: 'detect_text', status: 'SUCCEEDED' }),
    ]
    const list = mount(HistoryList, { props: { items, hasMore: true, names: { B: 'holiday.png' } } })
    const cards = list.findAll('[data-testid="history-item"]')
    expect(cards.map((r) => r.attributes('data-status'))).toEqual(['SUCCEEDED', 'FAILED'])
    expect(cards[0].get('[data-testid="history-name"]').text()).toBe('holiday.png')
    // The operation and the options that matter, in words (all of them in the tooltip); how it ended and how long it took.
    expect(cards[0].get('[data-testid="history-operation"]').text()).toBe('Upscale')
    expect(cards[0].get('[data-testid="history-options"]').text()).toBe('Fast, small model (animevideo v3)')
    expect(cards[0].get('[data-testid="history-options"]').attributes('title')).toBe('model=realesr-animevideov3, tile=32')
    expect(cards.map((c) => c.get('[data-testid="history-status"]').text())).toEqual(['Done in 2.0 s', 'Failed in 1 min 5 s'])
    // The job's small thumbnail, never the large result; without one, the original.
    const small = cards[0].get('[data-testid="thumbnail"]').attributes()
    expect(small).toMatchObject({ src: '/d/thumb', width: '256', height: '171', loading: 'lazy', 'data-kind': 'result' })
    expect(small.alt).toBe('upscale result of holiday.png')
    const original = cards[1].get('[data-testid="thumbnail"]').attributes()
    expect(original).toMatchObject({ src: '/d/in', alt: 'scan.tiff', 'data-kind': 'original' })
    expect(original.width).toBeUndefined()
    expect(cards[1].get('[data-testid="history-name"]').text()).toBe('scan.tiff') // the upload's own name
    expect(cards[1].text()).toContain('not an image')
    await cards[1].get('button').trigger('click')
    expect(list.emitted('open')).toEqual([['A']])
  })

  it('deletes an ended execution after a second click on the same card, never a running one', async () => {
    const items = [execution({ execution_id: 'R', status: 'RUNNING' }), execution({ execution_id: 'D', status: 'ABORTED' })]
    const list = mount(HistoryList, { props: { items, hasMore: false } })
    const [running, ended] = list.findAll('[data-testid="history-item"]')
    expect(running.find('[data-testid="delete"]').exists()).toBe(false) // cancel it first
    const remove = ended.get('[data-testid="delete"]')
    await remove.trigger('click')
    expect(list.emitted('remove')).toBeUndefined() // asked once more, in place
    expect(remove.text()).toBe('Delete for good?')
    await remove.trigger('click')
    expect(list.emitted('remove')).toEqual([['D']])
  })

  it('says so when there is nothing yet', () => {
    expect(mount(HistoryList, { props: { items: [], hasMore: false } }).text()).toContain('Nothing yet')
  })
})

describe('OpsPage', () => {
  it("lists executions and shows the selected one's state-by-state events", async () => {
    const api = {
      history: vi.fn(async () => ({ items: [execution({ execution_id: 'E1' })], next_cursor: null })),
      events: vi.fn(async () => [
        { id: 1, type: 'ExecutionStarted', timestamp: '2026-01-01T10:00:00.000Z' },
        { id: 2, type: 'TaskStateEntered', timestamp: '2026-01-01T10:00:00.250Z', stateEnteredEventDetails: { name: 'ValidateInput' } },
        { id: 3, type: 'TaskStateExited', timestamp: '2026-01-01T10:00:01.500Z', stateExitedEventDetails: { name: 'ValidateInput' } },
      ]),
    }
    const page = mount(OpsPage, { props: { api } })
    await flushPromises()
    await page.get('[data-testid="ops-executions"] tbody tr').trigger('click')
    await flushPromises()
    expect(api.events).toHaveBeenCalledWith('E1')
    const rows = page.findAll('[data-testid="ops-events"] tbody tr').map((r) => r.findAll('td').map((c) => c.text()))
    expect(rows).toEqual([
      ['1', 'ExecutionStarted', '', '+0.00 s'],
      ['2', 'TaskStateEntered', 'ValidateInput', '+0.25 s'],
      ['3', 'TaskStateExited', 'ValidateInput', '+1.50 s'],
    ])
  })

  it('shows a failure to load in plain words', async () => {
    const api = { history: vi.fn(async () => Promise.reject(new Error('The server cannot be reached.'))), events: vi.fn() }
    const page = mount(OpsPage, { props: { api } })
    await flushPromises()
    expect(page.get('[role="alert"]').text()).toBe('The server cannot be reached.')
  })
})

describe('ImagePicker', () => {
  async function pick(file: File) {
    const picker = mount(ImagePicker)
    const input = picker.get('[data-testid="file-input"]')
    Object.defineProperty(input.element, 'files', { value: [file] })
    await input.trigger('change')
    await flushPromises()
    return picker
  }

  it('refuses a file that is not an image we process', async () => {
    const picker = await pick(new File(['hello'], 'notes.txt', { type: 'text/plain' }))
    expect(picker.emitted('refused')?.[0][0]).toMatch(/notes.txt is not an image/)
    expect(picker.emitted('picked')).toBeUndefined()
  })

  it('filters the file dialog by the content types the server serves', () => {
    const accept = served[0].input.content_types
    expect(accept).toContain('image/png')
    const picker = mount(ImagePicker, { props: { accept } })
    expect(picker.get('[data-testid="file-input"]').attributes('accept')).toBe(accept.join(','))
    // Before the schema has arrived: any image; the bytes still decide.
    expect(mount(ImagePicker).get('[data-testid="file-input"]').attributes('accept')).toBe('image/*')
  })

  it('passes an upright image through unchanged, with a preview', async () => {
    URL.createObjectURL = vi.fn(() => 'blob:preview')
    URL.revokeObjectURL = vi.fn()
    const png = new File([new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0, 0, 0, 0])], 'p.png', { type: 'image/png' })
    const picker = await pick(png)
    const picked = picker.emitted('picked')![0][0] as { image: Blob; rotated: boolean; url: string }
    expect(picked.image).toBe(png)
    expect(picked.rotated).toBe(false)
    expect(picker.get('[data-testid="preview"]').attributes('src')).toBe('blob:preview')
  })
})

describe('MaskBrush', () => {
  it('gives no mask until something is painted', async () => {
    const brush = mount(MaskBrush, { props: { src: 'blob:x' } })
    expect(await (brush.vm as unknown as { maskBlob: () => Promise<Blob | null> }).maskBlob()).toBeNull()
    expect(brush.text()).toContain('Optional')
  })
})

describe('AnalyticsPage', () => {
  const queries = [
    { name: 'failure_rate_per_operation', description: 'Share of executions that did not succeed.' },
    { name: 'top_errors', description: 'The most frequent errors.' },
  ]

  it('lists the named queries and shows an answer as a table', async () => {
    const api = {
      namedQueries: vi.fn(async () => queries),
      runQuery: vi.fn(async (name: string) => ({
        name,
        columns: ['operation', 'failure_rate'],
        rows: [
          { operation: 'upscale', failure_rate: 0.333333 },
          { operation: 'denoise', failure_rate: null },
        ],
      })),
    }
    const page = mount(AnalyticsPage, { props: { api } })
    await flushPromises()
    expect(page.findAll('option').map((o) => o.text())).toEqual(['failure_rate_per_operation', 'top_errors'])
    expect(page.text()).toContain('Share of executions that did not succeed.')
    await page.get('[data-testid="run-query"]').trigger('click')
    await flushPromises()
    expect(api.runQuery).toHaveBeenCalledWith('failure_rate_per_operation')
    const rows = page.findAll('[data-testid="answer"] tbody tr').map((r) => r.findAll('td').map((c) => c.text()))
    expect(rows).toEqual([
      ['upscale', '0.3333'],
      ['denoise', '–'],
    ])
  })

  it('says so when a query has no rows, and shows failures in plain words', async () => {
    const api = {
      namedQueries: vi.fn(async () => queries),
      runQuery: vi.fn(async () => ({ name: 'top_errors', columns: ['error_type'], rows: [] })),
    }
    const page = mount(AnalyticsPage, { props: { api } })
    await flushPromises()
    await page.get('[data-testid="run-query"]').trigger('click')
    await flushPromises()
    expect(page.text()).toContain('No rows')
    api.runQuery.mockRejectedValueOnce(new Error("the query 'top_errors' could not be answered: no table"))
    await page.get('[data-testid="run-query"]').trigger('click')
    await flushPromises()
    expect(page.get('[role="alert"]').text()).toContain('could not be answered')
  })
})
