// Batches: several files picked at once run as ONE execution with `uploads`; the batch view
// shows each image of the served execution (ExecutionOut.images) with its status, progress and result.
import { flushPromises, mount, type VueWrapper } from '@vue/test-utils'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { createAppRouter } from '../src/router'
import App from '../src/App.vue'
import BatchView from '../src/components/BatchView.vue'
import ImagePicker from '../src/components/ImagePicker.vue'
import { ApiClient, type Execution } from '../src/lib/api'
import { imageProblem } from '../src/lib/precheck'
import { MOVING_POLL_MS } from '../src/lib/poll'
import { execution, json, pngHeader, scriptedFetch } from './fakes'

/** A file holding a PNG header only (fakes.pngHeader). */
function png(name: string, width = 64, height = 64): File {
  return new File([pngHeader(width, height)], name, { type: 'image/png' })
}

async function choose(wrapper: Pick<VueWrapper, 'get'>, files: File[]) {
  const input = wrapper.get('[data-testid="file-input"]')
  Object.defineProperty(input.element, 'files', { value: files, configurable: true })
  await input.trigger('change')
  await flushPromises()
}

beforeEach(() => {
  let n = 0
  URL.createObjectURL = vi.fn(() => `blob:${++n}`)
  URL.revokeObjectURL = vi.fn()
  window.history.replaceState(null, '', '/')
})

describe('ImagePicker with several files', () => {
  const limits = { min_side_px: 16, max_bytes: 50_000_000, max_pixels: 4_000_000, content_types: ['image/png'] }
  const check = (h: Parameters<typeof imageProblem>[0], f: Blob) => imageProblem(h, f.size, limits)

  it('takes the input’s several files as a batch, each checked, and names the one it refuses', async () => {
    const picker = mount(ImagePicker, { props: { check } })
    expect(picker.get('[data-testid="file-input"]').attributes('multiple')).toBeDefined()
    await choose(picker, [png('a.png'), new File(['notes'], 'notes.png', { type: 'image/png' }), png('b.png'), png('huge.png', 60000, 60000)])

    const batch = picker.emitted('batch')![0][0] as { name: string }[]
    expect(batch.map((p) => p.name)).toEqual(['a.png', 'b.png'])
    expect(picker.emitted('picked')).toBeUndefined()
    expect(picker.emitted('refused')).toBeUndefined() // the accepted ones still go
    expect(picker.get('[data-testid="refused-files"]').text()).toContain('notes.png is not an image')
    expect(picker.get('[data-testid="refused-files"]').text()).toContain(
      'huge.png: the input image is 60000×60000 = 3600.0 megapixels; the limit for this operation is 4 megapixels',
    )
    expect(picker.findAll('[data-testid="batch-pick"]').map((li) => li.text())).toEqual(['a.png', 'b.png'])
    expect(picker.get('[data-testid="batch-count"]').text()).toBe('2 images, run as one batch')
    expect(picker.find('[data-testid="preview"]').exists()).toBe(false)
  })

  it('a drop of several files is a batch too; one accepted among them is a plain pick', async () => {
    const picker = mount(ImagePicker, { props: { check } })
    await picker.get('[data-testid="drop-zone"]').trigger('drop', { dataTransfer: { files: [png('x.png'), png('y.png'), png('z.png')] } })
    await flushPromises()
    expect((picker.emitted('batch')![0][0] as { name: string }[]).map((p) => p.name)).toEqual(['x.png', 'y.png', 'z.png'])

    await choose(picker, [png('only.png'), png('tiny.png', 4, 4)])
    expect((picker.emitted('picked')![0][0] as { name: string }).name).toBe('only.png')
    expect(picker.find('[data-testid="preview"]').exists()).toBe(true)
    expect(picker.find('[data-testid="batch-picks"]').exists()).toBe(false)
    expect(picker.get('[data-testid="refused-files"]').text()).toBe(
      'Not taken: tiny.png: the input image is 4×4; each side must be at least 16 pixels',
    )
  })

  it('all of several refused: one refusal naming each', async () => {
    const picker = mount(ImagePicker, { props: { check } })
    await choose(picker, [new File(['a'], 'a.txt'), png('tiny.png', 4, 4)])
    expect(picker.emitted('refused')![0][0]).toBe(
      'a.txt is not an image (accepted: PNG, JPEG, WebP, TIFF, BMP); tiny.png: the input image is 4×4; each side must be at least 16 pixels',
    )
    expect(picker.emitted('batch')).toBeUndefined()
  })
})

/** A batch execution as GET /image-ai-analysis/{id} serves it (ExecutionOut with images, results empty). */
function servedBatch(): Execution {
  const image = (index: number, name: string) => ({
    index,
    input_key: `uploads/local/U${index}/original.png`,
    original_name: name,
    input_url: `/downloads/in-${index}`,
    status: 'PENDING',
    percent: 0,
    stage: null,
    results: [] as Execution['images'][number]['results'],
    error: null as Execution['images'][number]['error'],
    thumbnail: null as Execution['images'][number]['thumbnail'],
  })
  return execution({
    execution_id: 'B',
    operation: 'denoise',
    status: 'RUNNING',
    results: [],
    images: [
      {
        ...image(0, 'cat.png'),
        status: 'SUCCEEDED',
        percent: 100,
        results: [
          {
            job: 'denoise',
            key: 'results/local/B/denoise/000/result.png',
            url: '/downloads/r0',
            content_type: 'image/png',
            filename: 'cat-denoised.png',
          },
        ],
        thumbnail: { key: 'results/local/B/denoise/000/thumbnail.webp', width: 256, height: 192, url: '/downloads/t0' },
      },
      { ...image(1, 'dog.png'), status: 'RUNNING', percent: 37.5, stage: 'tiles' },
      {
        ...image(2, 'bird.png'),
        status: 'FAILED',
        error: { type: 'ImageTooSmall', message: 'the input image is 8×8; each side must be at least 16 pixels' },
      },
      image(3, 'fish.png'),
    ],
  })
}

describe('BatchView', () => {
  it('one card per image: name, preview, status, progress while running, error, download; and a summary', () => {
    const view = mount(BatchView, { props: { execution: servedBatch() } })
    expect(view.get('[data-testid="batch-summary"]').text()).toBe('4 images: 1 done, 1 failed, 1 running, 1 waiting')
    const cards = view.findAll('[data-testid="batch-image"]')
    expect(cards.map((c) => c.attributes('data-status'))).toEqual(['SUCCEEDED', 'RUNNING', 'FAILED', 'PENDING'])
    expect(cards.map((c) => c.get('[data-testid="batch-image-name"]').text())).toEqual(['cat.png', 'dog.png', 'bird.png', 'fish.png'])
    expect(cards.map((c) => c.get('[data-testid="batch-image-status"]').text())).toEqual(['Done', 'Working', 'Failed', 'Waiting'])

    // Done: its job's thumbnail is the preview (never the large result), the result the download.
    const preview = cards[0].get('[data-testid="batch-image-preview"]')
    expect([preview.attributes('src'), preview.attributes('data-kind')]).toEqual(['/downloads/t0', 'result'])
    const download = cards[0].get('[data-testid="batch-download"]')
    expect([download.attributes('href'), download.attributes('download')]).toEqual(['/downloads/r0', 'cat-denoised.png'])
    // Running: the original, a progress bar and its percent; no download yet.
    expect(cards[1].get('[data-testid="batch-image-preview"]').attributes('src')).toBe('/downloads/in-1')
    expect(cards[1].get('progress').attributes('value')).toBe('38')
    expect(cards[1].get('[data-testid="batch-image-percent"]').text()).toBe('38%')
    expect(cards[1].find('[data-testid="batch-download"]').exists()).toBe(false)
    // Failed: why, in plain words; no progress bar, no download.
    expect(cards[2].get('[data-testid="batch-image-error"]').text()).toBe('the input image is 8×8; each side must be at least 16 pixels')
    expect(cards[2].find('progress').exists()).toBe(false)
    expect(cards[2].find('[data-testid="batch-download"]').exists()).toBe(false)
    expect(cards[3].find('progress').exists()).toBe(false)
  })
})

describe('App with a batch', () => {
  beforeEach(() => vi.useFakeTimers())
  afterEach(() => vi.useRealTimers())

  function app(onSubmit: (body: Record<string, unknown>) => void) {
    let uploads = 0
    const ended = servedBatch()
    ended.status = 'SUCCEEDED'
    ended.images = ended.images.slice(0, 3).map((i) => ({ ...i, status: 'SUCCEEDED', percent: 100, error: null, results: servedBatch().images[0].results }))
    const statuses = [servedBatch(), ended]
    const { fetcher, calls } = scriptedFetch([
      (url) => (url === '/authorize' ? json({ access_token: 'T', expires_in: 60, user: 'local' }) : undefined),
      (url) => (url === '/uploads' ? json({ url: '/local-uploads/t', fields: {}, file_field: 'file', max_bytes: 1e6, upload: null }, 201) : undefined),
      (url) => (url === '/local-uploads/t' ? json({ upload: `uploads/local/U${uploads++}/original.png` }, 201) : undefined),
      (url, init) => {
        if (url !== '/image-ai-analysis' || init.method !== 'POST') return undefined
        onSubmit(JSON.parse(String(init.body)))
        return json({ execution_id: 'B', status: 'RUNNING', created_at: '2026-01-01T10:00:00Z' }, 202)
      },
      (url) => (url === '/image-ai-analysis/B' ? json(statuses.length > 1 ? statuses.shift() : statuses[0]) : undefined),
      (url) => (url.startsWith('/image-ai-analysis?') ? json({ items: [], next_cursor: null }) : undefined),
    ])
    return { page: mount(App, { global: { plugins: [createAppRouter()] }, props: { api: new ApiClient('', fetcher) } }), calls }
  }

  it('three files: each uploaded, ONE submit with uploads, then the batch view follows it to the end', async () => {
    const submitted: Record<string, unknown>[] = []
    const { page, calls } = app((body) => submitted.push(body))
    await flushPromises()
    await page.get('[data-testid="operation-denoise"]').setValue(true)
    await choose(page, [png('cat.png'), png('dog.png'), png('bird.png')])
    expect(page.get('[data-testid="run"]').text()).toBe('Run denoise on 3 images')
    await page.get('[data-testid="run"]').trigger('click')
    await flushPromises()

    expect(calls.filter((c) => c.url === '/local-uploads/t').length).toBe(3)
    expect(submitted.length).toBe(1)
    expect(submitted[0].uploads).toEqual(['uploads/local/U0/original.png', 'uploads/local/U1/original.png', 'uploads/local/U2/original.png'])
    expect(submitted[0]).not.toHaveProperty('upload')
    expect(submitted[0]).not.toHaveProperty('mask')
    expect(page.get('[data-testid="batch-summary"]').text()).toBe('4 images: 1 done, 1 failed, 1 running, 1 waiting')
    expect(page.find('[data-testid="run-stage"]').exists()).toBe(false) // no single-image stage for a batch
    expect(page.get('[data-testid="run"]').attributes('data-action')).toBe('cancel')

    await vi.advanceTimersByTimeAsync(MOVING_POLL_MS) // the next poll, at the pace of a moving job
    await flushPromises()
    expect(page.get('[data-testid="batch-summary"]').text()).toBe('3 images: 3 done')
    expect(page.findAll('[data-testid="batch-download"]').length).toBe(3)
    expect(window.location.pathname).toBe('/run/B')
  })

  it('inpaint with several files: no brush, and one line says why', async () => {
    const { page } = app(() => undefined)
    await flushPromises()
    await page.get('[data-testid="operation-inpaint"]').setValue(true)
    await choose(page, [png('a.png'), png('b.png')])
    expect(page.find('[data-testid="mask-canvas"]').exists()).toBe(false)
    expect(page.get('[data-testid="batch-no-mask"]').text()).toBe(
      'A batch takes no mask (a mask is painted on one image): pick a single image to paint one.',
    )
  })
})
