// The stage: cursor-centred zoom with a thin divider, the brush's undo/redo and size keys, and
// chaining a result into the next run.
import { flushPromises, mount } from '@vue/test-utils'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { createAppRouter } from '../src/router'
import App from '../src/App.vue'
import CompareSlider from '../src/components/CompareSlider.vue'
import MaskBrush from '../src/components/MaskBrush.vue'
import { ApiClient, type Execution } from '../src/lib/api'
import { UndoStack, resizeBrush, snapshotLimit } from '../src/lib/undo'
import { zoomAt } from '../src/lib/zoom'
import { execution, json, pngHeader, result, scriptedFetch } from './fakes'

const size = { width: 400, height: 300 }

/** The app on its History tab with ``past`` as the one past run; every original downloads as a 64 px PNG. */
async function historyShowing(past: Execution) {
  const png = pngHeader(64, 64)
  vi.stubGlobal('fetch', vi.fn(async () => ({ ok: true, status: 200, blob: async () => new Blob([png], { type: 'image/png' }) })))
  const { fetcher } = scriptedFetch([
    (url) => (url === '/authorize' ? json({ access_token: 'T', expires_in: 60, user: 'local' }) : undefined),
    (url) => (url.startsWith('/image-ai-analysis?') ? json({ items: [past], next_cursor: null }) : undefined),
  ])
  const app = mount(App, { global: { plugins: [createAppRouter()] }, props: { api: new ApiClient('', fetcher) } })
  await flushPromises()
  await app.get('[data-testid="tab-history"]').trigger('click')
  await flushPromises()
  return app
}

describe('zoomAt', () => {
  it('keeps the image point under the cursor where it is, zooming in and out', () => {
    let view = { zoom: 1, pan: { x: 0, y: 0 } }
    const cursor = { x: 300, y: 60 }
    const under = (v: typeof view) => ({ x: (cursor.x - v.pan.x) / v.zoom, y: (cursor.y - v.pan.y) / v.zoom })
    const before = under(view)
    for (let i = 0; i < 6; i++) {
      view = zoomAt(view, cursor, 1.2, size)
      expect(under(view).x).toBeCloseTo(before.x, 6)
      expect(under(view).y).toBeCloseTo(before.y, 6)
    }
    expect(view.zoom).toBeGreaterThan(2.9)
    view = zoomAt(view, cursor, 1 / 1.2, size)
    expect(under(view).x).toBeCloseTo(before.x, 6)
  })

  it('stays between 1× and 8× and never leaves an empty edge', () => {
    let view = { zoom: 1, pan: { x: 0, y: 0 } }
    for (let i = 0; i < 40; i++) view = zoomAt(view, { x: 399, y: 299 }, 1.2, size)
    expect(view.zoom).toBe(8)
    for (let i = 0; i < 40; i++) view = zoomAt(view, { x: 0, y: 0 }, 1 / 1.2, size)
    expect(view).toEqual({ zoom: 1, pan: { x: 0, y: 0 } })
    const edge = zoomAt({ zoom: 4, pan: { x: -1200, y: -900 } }, { x: 0, y: 0 }, 1 / 1.2, size)
    expect(edge.pan.x).toBeGreaterThanOrEqual(size.width - edge.zoom * size.width)
    expect(edge.pan.y).toBeGreaterThanOrEqual(size.height - edge.zoom * size.height)
  })
})

describe('CompareSlider at any zoom', () => {
  const props = { before: '/d/before', after: '/d/after', downloadName: 'photo-upscaled.png' }
  function slider() {
    const s = mount(CompareSlider, { props })
    ;(s.get('.viewport').element as HTMLElement).getBoundingClientRect = () =>
      ({ left: 10, top: 20, width: 400, height: 300 }) as DOMRect
    return s
  }

  it('zooms on the cursor with the wheel', async () => {
    const s = slider()
    await s.get('.viewport').trigger('wheel', { deltaY: -1, clientX: 10 + 300, clientY: 20 + 60 })
    // zoom 1.2 at (300, 60): pan = cursor − 1.2 × cursor
    expect(s.get('.layers').attributes('style')).toContain('translate(-60px, -12px) scale(1.2)')
  })

  it('draws the divider and the clip outside the zoomed layers: a thin line, "before" left of it', async () => {
    const s = slider()
    for (let i = 0; i < 30; i++) await s.get('.viewport').trigger('wheel', { deltaY: -1, clientX: 400, clientY: 300 })
    expect(s.get('.layers').attributes('style')).toContain('scale(8)')
    const divider = s.get('[data-testid="divider"]')
    expect(divider.element.closest('.layers')).toBeNull()
    expect(s.get('[data-testid="after-clip"]').element.closest('.layers')).toBeNull()
    expect(divider.attributes('style')).toBe('left: 50%;')
    // The before image is never clipped; only the after side is.
    expect(s.get('[data-testid="before"]').attributes('style')).toBeUndefined()
    expect(s.get('[data-testid="after-clip"]').attributes('style')).toContain('inset(0 0 0 50%)')
  })

  it('drags the divider on the image itself (near it when zoomed, anywhere at 1×)', async () => {
    const s = slider()
    const viewport = s.get('.viewport')
    await viewport.trigger('pointerdown', { clientX: 10 + 100, clientY: 100 })
    await viewport.trigger('pointermove', { clientX: 10 + 300, clientY: 100 })
    await viewport.trigger('pointerup')
    expect(s.get('[data-testid="divider"]').attributes('style')).toBe('left: 75%;')
    await s.get('[data-testid="zoom"]').setValue('3')
    await viewport.trigger('pointerdown', { clientX: 10 + 305, clientY: 100 }) // within the grip of 75% (310)
    await viewport.trigger('pointermove', { clientX: 10 + 40, clientY: 100 })
    await viewport.trigger('pointerup')
    expect(s.get('[data-testid="divider"]').attributes('style')).toBe('left: 10%;')
  })
})

describe('the mask brush', () => {
  it('undoes and redoes in order, and a new stroke forgets the redo', () => {
    const stack = new UndoStack<string>(3)
    stack.push('empty')
    stack.push('one stroke')
    expect(stack.undo('two strokes')).toBe('one stroke')
    expect(stack.undo('one stroke')).toBe('empty')
    expect(stack.undo('empty')).toBeNull()
    expect(stack.redo('empty')).toBe('one stroke')
    stack.push('one stroke')
    expect(stack.canRedo).toBe(false)
    for (const s of ['a', 'b', 'c', 'd']) stack.push(s)
    expect([stack.undo('e'), stack.undo('d'), stack.undo('c'), stack.undo('b')]).toEqual(['d', 'c', 'b', null]) // limit 3
  })

  it('keeps fewer snapshots for a large image', () => {
    expect(snapshotLimit(256, 256)).toBe(50)
    expect(snapshotLimit(8000, 8000)).toBe(3)
  })

  it('[ and ] change the brush size, within its bounds', async () => {
    expect(resizeBrush(24, ']')).toBe(29)
    expect(resizeBrush(24, '[')).toBe(19)
    expect(resizeBrush(4, '[')).toBe(4)
    expect(resizeBrush(160, ']')).toBe(160)
    const brush = mount(MaskBrush, { props: { src: 'blob:x' }, attachTo: document.body })
    window.dispatchEvent(new KeyboardEvent('keydown', { key: ']' }))
    await flushPromises()
    expect(brush.get('[data-testid="brush-size"]').text()).toBe('29')
    window.dispatchEvent(new KeyboardEvent('keydown', { key: '[' }))
    await flushPromises()
    expect(brush.get('[data-testid="brush-size"]').text()).toBe('23')
    expect(brush.get('[data-testid="undo"]').attributes('disabled')).toBeDefined() // nothing painted yet
    expect(brush.find('[data-testid="tool-eraser"]').exists()).toBe(true)
    brush.unmount()
  })
})

describe('chaining', () => {
  beforeEach(() => {
    vi.useFakeTimers()
    URL.createObjectURL = vi.fn(() => 'blob:preview')
    URL.revokeObjectURL = vi.fn()
    window.history.replaceState(null, '', '/')
  })
  afterEach(() => {
    vi.useRealTimers()
    vi.unstubAllGlobals()
  })

  it('"use this result as the next input" picks the result under its download name, and runs it next', async () => {
    const id = '01JDQZ8M3V6Y7N2W4X5A9B0C1D'
    window.history.replaceState(null, '', `/run/${id}`)
    const done = execution({
      execution_id: id,
      status: 'SUCCEEDED',
      original_name: 'cat.png',
      options: { model: 'realesrgan-x4plus' },
      metadata: { upscale: { model: 'realesrgan-x4plus', outscale: 4 } },
      results: [
        result('upscale', `results/local/${id}/upscale/result.png`, '/downloads/r', 'image/png', 'cat-upscaled.png'),
      ],
    } as unknown as Partial<Execution>)
    const resultBytes = new Uint8Array(33)
    resultBytes.set([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13, 0x49, 0x48, 0x44, 0x52])
    new DataView(resultBytes.buffer).setUint32(16, 384)
    new DataView(resultBytes.buffer).setUint32(20, 384)
    // (a jsdom Blob: Node's own Blob from a real Response is not one jsdom's File can read)
    vi.stubGlobal('fetch', vi.fn(async () => ({ ok: true, status: 200, blob: async () => new Blob([resultBytes], { type: 'image/png' }) })))
    const { fetcher, calls } = scriptedFetch([
      (url) => (url === '/authorize' ? json({ access_token: 'T', expires_in: 60, user: 'local' }) : undefined),
      (url) => (url === `/image-ai-analysis/${id}` ? json(done) : undefined),
      (url) => (url === '/uploads' ? json({ url: '/local-uploads/t', fields: {}, file_field: 'file', max_bytes: 1e6, upload: null }, 201) : undefined),
      (url) => (url === '/local-uploads/t' ? json({ upload: 'uploads/local/U2/original.png' }, 201) : undefined),
      (url, init) => (url === '/image-ai-analysis' && init.method === 'POST' ? json({ execution_id: 'E2', status: 'RUNNING' }, 202) : undefined),
      (url) => (url === '/image-ai-analysis/E2' ? json(execution({ execution_id: 'E2', operation: 'denoise' })) : undefined),
    ])
    const app = mount(App, { global: { plugins: [createAppRouter()] }, props: { api: new ApiClient('', fetcher) } })
    await flushPromises()
    // The page's name says the operation, the model and the scale (the server's is only after the original).
    expect(app.get('[data-testid="download"]').attributes('download')).toBe('cat-upscale-x4plus-x4.png')
    await app.get('[data-testid="chain"]').trigger('click')
    await flushPromises()
    expect(fetch).toHaveBeenCalledWith('/downloads/r')
    expect(app.findAll('[data-testid="error"]').map((e) => e.text())).toEqual([])
    expect(app.find('[data-testid="compare"]').exists()).toBe(false)
    expect(app.get('[data-testid="preview"]').attributes('src')).toBe('blob:preview')
    expect(window.location.pathname).toBe('/')
    await app.get('[data-testid="operation-denoise"]').setValue(true)
    await app.get('[data-testid="run"]').trigger('click')
    await flushPromises()
    const upload = calls.find((c) => c.url === '/local-uploads/t')!
    const sent = (upload.init.body as FormData).get('file') as File
    expect(sent.name).toBe('cat-upscale-x4plus-x4.png')
    expect(new Uint8Array(await sent.arrayBuffer())).toEqual(resultBytes)
    const submitted = calls.find((c) => c.url === '/image-ai-analysis' && c.init.method === 'POST')!
    expect(JSON.parse(String(submitted.init.body)).operation).toBe('denoise')
    app.unmount()
  })

  it('re-runs from History: the original is picked again with the same operation and options', async () => {
    const past = execution({
      execution_id: 'P1',
      operation: 'denoise',
      status: 'SUCCEEDED',
      duration_s: 3,
      options: { method: 'tv' },
      input_url: '/downloads/original',
      original_name: 'dog.png',
    } as unknown as Partial<Execution>)
    const app = await historyShowing(past)
    await app.get('[data-testid="rerun"]').trigger('click')
    await flushPromises()
    expect(fetch).toHaveBeenCalledWith('/downloads/original')
    expect(app.get('[data-testid="preview"]').attributes('src')).toBe('blob:preview')
    expect((app.get('[data-testid="operation-denoise"]').element as HTMLInputElement).checked).toBe(true)
    expect((app.get('select[name="method"]').element as HTMLSelectElement).value).toBe('tv')
    expect(app.get('[data-testid="run"]').attributes('disabled')).toBeUndefined()
    app.unmount()
  })

  it('re-runs a batch from History whole: every original picked again, as one batch', async () => {
    const image = (index: number, name: string) => ({
      index,
      input_key: `uploads/local/U${index}/original.png`,
      original_name: name,
      input_url: `/downloads/in-${index}`,
      status: 'SUCCEEDED',
      percent: 100,
      stage: null,
      results: [],
      error: null,
      thumbnail: null,
    })
    const past = execution({
      execution_id: 'B1',
      operation: 'denoise',
      status: 'SUCCEEDED',
      options: { method: 'tv' },
      images: [image(0, 'a.png'), image(1, 'b.png'), image(2, 'c.png')],
    })
    const app = await historyShowing(past)
    expect(app.get('[data-testid="history-batch"]').text()).toBe('· 3 images')
    await app.get('[data-testid="rerun"]').trigger('click')
    await flushPromises()
    expect(vi.mocked(fetch).mock.calls.map((c) => c[0])).toEqual(['/downloads/in-0', '/downloads/in-1', '/downloads/in-2'])
    expect(app.get('[data-testid="batch-count"]').text()).toBe('3 images, run as one batch')
    expect((app.get('select[name="method"]').element as HTMLSelectElement).value).toBe('tv')
    app.unmount()
  })
})
