// The analyse page at first contact: plain choices first (the rest under "Advanced", remembered), JPEG
// quality only for a lossy format, a refused file named beside the picker and gone from its box, the
// workflow's words made plain, and focus on the progress after Run.
import { flushPromises, mount } from '@vue/test-utils'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { createAppRouter } from '../src/router'
import App from '../src/App.vue'
import ImagePicker from '../src/components/ImagePicker.vue'
import OperationPicker from '../src/components/OperationPicker.vue'
import { ApiClient } from '../src/lib/api'
import {
  defaultOptions,
  isAdvanced,
  operation,
  optionApplies,
  useServedOperations,
  type OptionValue,
  type ServedOperation,
} from '../src/lib/operations'
import { stageWords, stateWords } from '../src/lib/stagewords'
import { execution, json, scriptedFetch } from './fakes'
import served from './served-operations.json'

beforeEach(() => {
  useServedOperations(served as ServedOperation[])
  window.localStorage.clear()
})

describe('which options show', () => {
  const option = (op: string, name: string) => operation(op).options.find((o) => o.name === name)!

  it('JPEG quality applies to a JPEG (or .jpg) or WebP result only; auto keeps a method-bound option', () => {
    const upscale = operation('upscale')
    const quality = option('upscale', 'quality')
    for (const [format, shown] of [['png', false], ['jpeg', true], ['jpg', true], ['webp', true]] as const) {
      expect(optionApplies(quality, upscale, { ...defaultOptions(upscale), format })).toBe(shown)
    }
    const inpaint = operation('inpaint')
    const radius = option('inpaint', 'radius')
    expect(optionApplies(radius, inpaint, { method: 'auto' })).toBe(true)
    expect(optionApplies(radius, inpaint, { method: 'telea' })).toBe(true)
    expect(optionApplies(radius, inpaint, { method: 'lama' })).toBe(false)
    expect(optionApplies(option('inpaint', 'min_score'), inpaint, { use_ocr: false })).toBe(false)
    expect(optionApplies(option('upscale', 'model'), upscale, {})).toBe(true) // no applies_to
  })

  it('the expert settings are advanced; the few plain choices are not', () => {
    const advanced = (op: string) => operation(op).options.filter((o) => isAdvanced(operation(op), o)).map((o) => o.name)
    expect(advanced('upscale')).toEqual(['tile', 'tile_overlap', 'batch', 'precision'])
    expect(advanced('denoise')).toEqual(['tile', 'precision'])
    expect(advanced('inpaint')).toEqual(['min_score', 'dilate_px', 'context_px', 'radius', 'max_side', 'precision'])
    // Plain: what a summary of the run names (served summary_options) and the result file's format and quality.
    expect(operation('upscale').summaryOptions).toEqual(['model', 'outscale'])
    expect(isAdvanced({ ...operation('upscale'), summaryOptions: ['tile'] }, option('upscale', 'tile'))).toBe(false)
    // An older server that names no summary options: every option plain, as before "Advanced".
    expect(isAdvanced({ ...operation('upscale'), summaryOptions: null }, option('upscale', 'tile'))).toBe(false)
  })
})

describe('plain words for the progress', () => {
  it('names the states and counts the parts', () => {
    expect(stateWords('ValidateInput')).toBe('Checking the image')
    expect(stateWords('RecordResult')).toBe('Saving the result')
    expect(stateWords('SomeNewState')).toBe('Some New State')
    expect(stageWords('inpainting', 1, 3)).toBe('1 of 3 areas done')
    expect(stageWords('upscale (estimated within tiles)', 900, 6400)).toBe('')
    expect(stageWords('load-model', 0, 1)).toBe('Loading the model')
    expect(stageWords('tiles', 1, 4)).toBe('1 of 4 parts done')
    expect(stageWords('new stage', 1, 4)).toBe('new stage (1 of 4)')
  })
})

describe('OperationPicker: "Advanced"', () => {
  function picker(name = 'upscale', problems: Record<string, string> = {}) {
    const wrapper = mount(OperationPicker, {
      props: {
        modelValue: name,
        options: defaultOptions(operation(name)),
        'onUpdate:options': (v: Record<string, OptionValue | null>) => wrapper.setProps({ options: v }),
        problems,
      },
    })
    return wrapper
  }
  const open = (w: ReturnType<typeof picker>) => (w.get('[data-testid="advanced"]').element as HTMLElement).style.display !== 'none'

  it('is closed at first, names what is under it, and stays open once opened (remembered)', async () => {
    const first = picker()
    const toggle = first.get('[data-testid="advanced-toggle"]')
    expect([open(first), toggle.attributes('aria-expanded')]).toEqual([false, 'false'])
    expect(toggle.text()).toContain('Tile size, Tile overlap, Tiles per pass, Precision')
    await toggle.trigger('click')
    expect([open(first), toggle.attributes('aria-expanded')]).toEqual([true, 'true'])
    expect(open(picker())).toBe(true) // the next visit
    await picker().get('[data-testid="advanced-toggle"]').trigger('click')
    expect(open(picker())).toBe(false)
  })

  it('opens by itself when a setting under it is refused, so the reason is seen', () => {
    const wrapper = picker('upscale', { tile: "option 'tile' must be a whole number from 0 to 1024, not -1" })
    expect(open(wrapper)).toBe(true)
    expect(wrapper.get('[data-testid="option-error-tile"]').isVisible()).toBe(true)
  })

  it('draws only the operation choice, or only the options, where a page places them apart', () => {
    const choice = mount(OperationPicker, { props: { modelValue: 'upscale', options: {}, part: 'operation' } })
    expect(choice.find('[data-testid="operation-denoise"]').exists()).toBe(true)
    expect(choice.find('select').exists()).toBe(false)
    const options = mount(OperationPicker, { props: { modelValue: 'upscale', options: {}, part: 'options' } })
    expect(options.find('[data-testid="operation-denoise"]').exists()).toBe(false)
    expect(options.find('select[name="model"]').exists()).toBe(true)
  })
})

describe('ImagePicker: errors where the user is', () => {
  beforeEach(() => {
    URL.createObjectURL = vi.fn(() => 'blob:preview')
    URL.revokeObjectURL = vi.fn()
  })

  it('invites a drop, a paste or a choice before a pick; shows the error it is given beside the picker', async () => {
    const picker = mount(ImagePicker, { props: { error: '' } })
    expect(picker.text()).toContain('Drop a photo here')
    expect(picker.get('label.choose').text()).toBe('Choose a photo')
    expect(picker.find('[data-testid="pick-error"]').exists()).toBe(false)
    await picker.setProps({ error: 'holiday.png is not an image (accepted: PNG, JPEG, WebP, TIFF, BMP)' })
    expect(picker.get('[data-testid="pick-error"]').attributes('role')).toBe('alert')
  })

  it("forgets a refused file's name (the box is emptied), and names a taken one beside it", async () => {
    const picker = mount(ImagePicker)
    const input = picker.get('[data-testid="file-input"]')
    const element = input.element as HTMLInputElement
    let value = 'C:\\fakepath\\holiday.png'
    Object.defineProperty(element, 'value', { get: () => value, set: (v: string) => (value = v), configurable: true })
    Object.defineProperty(element, 'files', { value: [new File(['hello, I am text'], 'holiday.png')], configurable: true })
    await input.trigger('change')
    await flushPromises()
    expect(picker.emitted('refused')![0][0]).toContain('holiday.png is not an image')
    expect(value).toBe('')
    Object.defineProperty(element, 'files', { value: [new File([new Uint8Array([0x89, 0x50, 0x4e, 0x47])], 'cat.png')] })
    await input.trigger('change')
    await flushPromises()
    expect(picker.get('[data-testid="picked-name"]').text()).toBe('cat.png')
    expect(picker.get('label.choose').text()).toBe('Choose another')
  })

  it('takes a photo dropped anywhere on the window', async () => {
    const picker = mount(ImagePicker)
    const drop = new Event('drop', { cancelable: true }) as DragEvent
    const png = new File([new Uint8Array([0x89, 0x50, 0x4e, 0x47])], 'dropped.png', { type: 'image/png' })
    Object.defineProperty(drop, 'dataTransfer', { value: { types: ['Files'], files: [png] } })
    window.dispatchEvent(drop)
    await flushPromises()
    expect(drop.defaultPrevented).toBe(true) // the browser does not open the file instead
    expect(picker.emitted('picked')![0][0]).toMatchObject({ name: 'dropped.png' })
    picker.unmount()
  })
})

describe('App: after Run', () => {
  beforeEach(() => {
    vi.useFakeTimers()
    URL.createObjectURL = vi.fn(() => 'blob:preview')
    URL.revokeObjectURL = vi.fn()
    window.history.replaceState(null, '', '/')
  })
  afterEach(() => vi.useRealTimers())

  it('focus moves to the progress, over the photo; a failed submit says why beside Run', async () => {
    let submits = 0
    const { fetcher } = scriptedFetch([
      (url) => (url === '/authorize' ? json({ access_token: 'T', expires_in: 60, user: 'local' }) : undefined),
      (url) => (url.startsWith('/image-ai-analysis?') ? json({ items: [], next_cursor: null }) : undefined),
      (url) => (url === '/uploads' ? json({ url: '/local-uploads/t', fields: {}, file_field: 'file', max_bytes: 1e6, upload: null }, 201) : undefined),
      (url) => (url === '/local-uploads/t' ? json({ upload: 'uploads/local/U/original.png' }, 201) : undefined),
      (url, init) => {
        if (url !== '/image-ai-analysis' || init.method !== 'POST') return undefined
        if (++submits === 1) return json({ type: 'about:blank', title: 'x', status: 503, detail: 'the service is busy' }, 503, 'application/problem+json')
        return json({ execution_id: 'E', status: 'RUNNING' }, 202)
      },
      (url) => (url === '/image-ai-analysis/E' ? json(execution({ execution_id: 'E' })) : undefined),
    ])
    const app = mount(App, { global: { plugins: [createAppRouter()] }, props: { api: new ApiClient('', fetcher) }, attachTo: document.body })
    await flushPromises()
    const input = app.get('[data-testid="file-input"]')
    Object.defineProperty(input.element, 'files', { value: [new File([new Uint8Array([0x89, 0x50, 0x4e, 0x47])], 'p.png', { type: 'image/png' })] })
    await input.trigger('change')
    await flushPromises()

    await app.get('[data-testid="run"]').trigger('click')
    await flushPromises()
    expect(app.get('[data-testid="run-error"]').text()).toContain('the service is busy')
    expect(app.find('[data-testid="error"]').exists()).toBe(false) // not the page's banner

    await app.get('[data-testid="run"]').trigger('click')
    await flushPromises()
    const progress = app.get('[data-testid="run-stage"] [data-testid="progress"]')
    expect(document.activeElement).toBe(progress.element)
    expect(app.find('[data-testid="run-error"]').exists()).toBe(false)
    app.unmount()
  })
})
