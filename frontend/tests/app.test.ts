import { flushPromises, mount } from '@vue/test-utils'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { createAppRouter } from '../src/router'
import App from '../src/App.vue'
import { ApiClient } from '../src/lib/api'
import { MOVING_POLL_MS } from '../src/lib/poll'
import { execution, json, result, scriptedFetch } from './fakes'

describe('App', () => {
  beforeEach(() => {
    vi.useFakeTimers()
    URL.createObjectURL = vi.fn(() => 'blob:preview')
    URL.revokeObjectURL = vi.fn()
    window.history.replaceState(null, '', '/')
  })
  afterEach(() => vi.useRealTimers())

  it('restores the run its address names: the form, and following it while it runs', async () => {
    const id = '01JDQZ8M3V6Y7N2W4X5A9B0C1D'
    window.history.replaceState(null, '', `/run/${id}`)
    const statuses = [
      execution({ execution_id: id, operation: 'denoise', options: { method: 'tv' }, current_state: 'Denoise' }),
      execution({ execution_id: id, operation: 'denoise', options: { method: 'tv' }, status: 'SUCCEEDED' }),
    ]
    const { fetcher, calls } = scriptedFetch([
      (url) => (url === '/authorize' ? json({ access_token: 'T', expires_in: 60, user: 'local' }) : undefined),
      (url) => (url === `/image-ai-analysis/${id}` ? json(statuses.length > 1 ? statuses.shift() : statuses[0]) : undefined),
    ])
    const app = mount(App, { global: { plugins: [createAppRouter()] }, props: { api: new ApiClient('', fetcher) } })
    await flushPromises()
    expect(app.get('[data-testid="state"]').attributes('data-state')).toBe('Denoise')
    expect(app.get('[data-testid="state"]').text()).toBe('Removing noise') // in plain words
    expect((app.get('[data-testid="operation-denoise"]').element as HTMLInputElement).checked).toBe(true)
    expect((app.get('select[name="method"]').element as HTMLSelectElement).value).toBe('tv')
    await vi.advanceTimersByTimeAsync(MOVING_POLL_MS) // the next poll, at the pace of a moving job
    await flushPromises()
    expect(app.get('[data-testid="status"]').text()).toBe('Done')
    expect(calls.filter((c) => c.url === `/image-ai-analysis/${id}`).length).toBe(2)
    expect(window.location.pathname).toBe(`/run/${id}`)
  })

  it('says a result that is not simply the change in plain words beside it, and what ran, not as a warning', async () => {
    const id = '01JDQZ8M3V6Y7N2W4X5A9B0C1E'
    window.history.replaceState(null, '', `/run/${id}`)
    const done = execution({
      execution_id: id,
      operation: 'inpaint',
      status: 'SUCCEEDED',
      duration_s: 65,
      outcome: 'No text found: nothing changed',
      results: [result('inpaint', `results/local/${id}/inpaint/result.png`, '/downloads/r', 'image/png', 'poster-inpainted.png')],
      metadata: { inpaint: { model: 'fsr', weights: 'fallback: opencv-fsr-fast', fallback: true, device: 'cpu', warnings: [] } },
    } as Partial<ReturnType<typeof execution>>)
    const { fetcher } = scriptedFetch([
      (url) => (url === '/authorize' ? json({ access_token: 'T', expires_in: 60, user: 'local' }) : undefined),
      (url) => (url === `/image-ai-analysis/${id}` ? json(done) : undefined),
      (url) => (url.startsWith('/image-ai-analysis?') ? json({ items: [], next_cursor: null }) : undefined),
    ])
    const app = mount(App, { global: { plugins: [createAppRouter()] }, props: { api: new ApiClient('', fetcher) } })
    await flushPromises()
    expect(app.get('[data-testid="outcome"]').text()).toBe('No text found: nothing changed')
    expect(app.find('[data-testid="warnings"]').exists()).toBe(false)
    expect(app.get('[data-testid="what-ran"]').text()).toBe('OpenCV FSR fill (no LaMa weights installed)')
    expect(app.get('[data-testid="what-ran-facts"]').text()).toBe('Ran on the CPU')
    expect(app.get('details.metadata summary').text()).toContain('Details')
  })

  it('signs in, uploads, runs, follows progress to 100% and offers the comparison', async () => {
    const statuses = [
      execution({ execution_id: 'E', progress: { stage: 'tiles', done: 2, total: 4, percent: 50 } }),
      execution({
        execution_id: 'E',
        status: 'SUCCEEDED',
        progress: { stage: 'done', done: 1, total: 1, percent: 100 },
        duration_s: 1.5,
        // filename: the server's download name, after the original (aiorch/analysis/names.py)
        results: [result('upscale', 'results/local/E/upscale/result.png', '/downloads/r', 'image/png', 'photo-upscaled.png')],
        metadata: { upscale: { model: 'RRDBNet x4plus' } },
      }),
    ]
    const { fetcher, calls } = scriptedFetch([
      (url) => (url === '/authorize' ? json({ access_token: 'T', expires_in: 60, user: 'local' }) : undefined),
      (url) => (url === '/uploads' ? json({ url: '/local-uploads/t', fields: { 'Content-Type': 'image/png' }, file_field: 'file', max_bytes: 1e6, upload: null }, 201) : undefined),
      (url) => (url === '/local-uploads/t' ? json({ upload: 'uploads/local/U/original.png' }, 201) : undefined),
      (url, init) => (url === '/image-ai-analysis' && init.method === 'POST' ? json({ execution_id: 'E', status: 'RUNNING' }, 202) : undefined),
      (url) => (url === '/image-ai-analysis/E' ? json(statuses.length > 1 ? statuses.shift() : statuses[0]) : undefined),
    ])
    const app = mount(App, { global: { plugins: [createAppRouter()] }, props: { api: new ApiClient('', fetcher) } })
    await flushPromises()
    expect(app.get('[data-testid="user"]').text()).toBe('Signed in as local')

    const input = app.get('[data-testid="file-input"]')
    const png = new File([new Uint8Array([0x89, 0x50, 0x4e, 0x47])], 'photo.png', { type: 'image/png' })
    Object.defineProperty(input.element, 'files', { value: [png] })
    await input.trigger('change')
    await flushPromises()
    await app.get('[data-testid="run"]').trigger('click')
    await flushPromises()
    expect(app.get('[data-testid="percent"]').text()).toBe('50%')
    // While it runs, Run is Cancel: a second click cannot start a second execution.
    expect(app.get('[data-testid="run"]').attributes('data-action')).toBe('cancel')
    expect(app.get('[data-testid="run"]').text()).toBe('Cancel')

    await vi.advanceTimersByTimeAsync(MOVING_POLL_MS) // the next poll, at the pace of a moving job
    await flushPromises()
    expect(app.get('[data-testid="percent"]').text()).toBe('100%')
    expect(app.get('[data-testid="run"]').text()).toBe('Run upscale')
    expect(window.location.pathname).toBe('/run/E')
    expect(app.get('[data-testid="after"]').attributes('src')).toBe('/downloads/r')
    expect(app.get('[data-testid="before"]').attributes('src')).toBe('/downloads/input-token')
    // The server's name for it, after the original and what was done to it.
    expect(app.get('[data-testid="download"]').attributes('download')).toBe('photo-upscaled.png')

    const submitted = calls.find((c) => c.url === '/image-ai-analysis' && c.init.method === 'POST')!
    expect(JSON.parse(String(submitted.init.body))).toEqual({
      operation: 'upscale',
      upload: 'uploads/local/U/original.png',
      // The served defaults (tests/served-operations.json); outscale's default is empty: the model's scale.
      options: { model: 'realesrgan-x4plus', tile: 0, tile_overlap: 32, batch: 0, precision: 'auto', format: 'png', quality: 95 },
    })
  })

  it('uploads an image once, retries an unanswered submit with the same key, and re-runs with a new one', async () => {
    let submits = 0
    const { fetcher, calls } = scriptedFetch([
      (url) => (url === '/authorize' ? json({ access_token: 'T', expires_in: 60, user: 'local' }) : undefined),
      (url) => (url === '/uploads' ? json({ url: '/local-uploads/t', fields: {}, file_field: 'file', max_bytes: 1e6, upload: null }, 201) : undefined),
      (url) => (url === '/local-uploads/t' ? json({ upload: 'uploads/local/U/original.png' }, 201) : undefined),
      (url, init) => {
        if (url !== '/image-ai-analysis' || init.method !== 'POST') return undefined
        submits++
        if (submits === 1) throw new TypeError('Failed to fetch') // the answer was lost
        return json({ execution_id: `E${submits}`, status: 'RUNNING' }, 202)
      },
      (url) => (url.startsWith('/image-ai-analysis/E') ? json(execution({ status: 'SUCCEEDED' })) : undefined),
    ])
    const app = mount(App, { global: { plugins: [createAppRouter()] }, props: { api: new ApiClient('', fetcher) } })
    await flushPromises()
    const input = app.get('[data-testid="file-input"]')
    Object.defineProperty(input.element, 'files', { value: [new File([new Uint8Array([0x89, 0x50, 0x4e, 0x47])], 'p.png', { type: 'image/png' })] })
    await input.trigger('change')
    await flushPromises()

    for (let run = 0; run < 3; run++) {
      await app.get('[data-testid="run"]').trigger('click')
      await flushPromises()
    }
    expect(app.find('[data-testid="error"]').exists()).toBe(false)
    expect(app.find('[data-testid="run-error"]').exists()).toBe(false) // the lost answer's error went with the retry
    const keys = calls
      .filter((c) => c.url === '/image-ai-analysis' && c.init.method === 'POST')
      .map((c) => new Headers(c.init.headers).get('Idempotency-Key'))
    expect(keys).toHaveLength(3)
    expect(keys[1]).toBe(keys[0]) // the retry of the unanswered submit
    expect(keys[2]).not.toBe(keys[1]) // running it again on purpose
    expect(calls.filter((c) => c.url === '/local-uploads/t')).toHaveLength(1)
  })

  it('cancels from the Run button while the execution runs, and submits only once', async () => {
    let cancelled = false
    const { fetcher, calls } = scriptedFetch([
      (url) => (url === '/authorize' ? json({ access_token: 'T', expires_in: 60, user: 'local' }) : undefined),
      (url) => (url === '/uploads' ? json({ url: '/local-uploads/t', fields: {}, file_field: 'file', max_bytes: 1e6, upload: null }, 201) : undefined),
      (url) => (url === '/local-uploads/t' ? json({ upload: 'uploads/local/U/original.png' }, 201) : undefined),
      (url, init) => (url === '/image-ai-analysis' && init.method === 'POST' ? json({ execution_id: 'E', status: 'RUNNING' }, 202) : undefined),
      (url, init) => {
        if (url === '/image-ai-analysis/E/cancel' && init.method === 'POST') cancelled = true
        else if (url !== '/image-ai-analysis/E') return undefined
        return json(execution({ execution_id: 'E', status: cancelled ? 'ABORTED' : 'RUNNING' }))
      },
    ])
    const app = mount(App, { global: { plugins: [createAppRouter()] }, props: { api: new ApiClient('', fetcher) } })
    await flushPromises()
    const input = app.get('[data-testid="file-input"]')
    const png = new File([new Uint8Array([0x89, 0x50, 0x4e, 0x47])], 'photo.png', { type: 'image/png' })
    Object.defineProperty(input.element, 'files', { value: [png] })
    await input.trigger('change')
    await flushPromises()
    await app.get('[data-testid="run"]').trigger('click')
    await flushPromises()
    await app.get('[data-testid="run"]').trigger('click') // the same place, now Cancel
    await flushPromises()
    expect(calls.filter((c) => c.url === '/image-ai-analysis' && c.init.method === 'POST')).toHaveLength(1)
    expect(calls.filter((c) => c.url.endsWith('/cancel')).map((c) => [c.init.method, c.url])).toEqual([
      ['POST', '/image-ai-analysis/E/cancel'],
    ])
    expect(app.get('[data-testid="status"]').text()).toBe('Cancelled')
    expect(app.get('[data-testid="run"]').attributes('data-action')).toBe('run')
  })

  it('shows why sign-in failed, in plain words, and takes a pasted token instead', async () => {
    const token = `h.${btoa(JSON.stringify({ sub: 'alice' }))}.s`
    const { fetcher, calls } = scriptedFetch([
      (url) => (url === '/authorize' ? json({ status: 403, detail: 'automatic sign-in works only while the server listens on loopback' }, 403) : undefined),
      (url, init) =>
        url.startsWith('/image-ai-analysis?') && new Headers(init.headers).get('Authorization') === `Bearer ${token}`
          ? json({ items: [], next_cursor: null })
          : undefined,
    ])
    const app = mount(App, { global: { plugins: [createAppRouter()] }, props: { api: new ApiClient('', fetcher) } })
    await flushPromises()
    expect(app.get('[data-testid="error"]').text()).toContain('only while the server listens on loopback')
    expect(app.get('[data-testid="run"]').attributes('disabled')).toBeDefined()

    await app.get('[data-testid="token"]').setValue('not a token')
    await app.get('form.token').trigger('submit')
    await flushPromises()
    expect(app.get('[data-testid="error"]').text()).toBe('That is not a token.')

    await app.get('[data-testid="token"]').setValue(token)
    await app.get('form.token').trigger('submit')
    await flushPromises()
    expect(app.get('[data-testid="user"]').text()).toBe('Signed in as alice')
    expect(app.find('[data-testid="error"]').exists()).toBe(false)
    expect(calls.at(-1)!.url).toBe('/image-ai-analysis?limit=1')
  })
})
