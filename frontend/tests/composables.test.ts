import { flushPromises } from '@vue/test-utils'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { computed, nextTick, ref } from 'vue'
import { runIdInUrl, useExecution } from '../src/composables/useExecution'
import { useRememberedFlag } from '../src/composables/useRemembered'
import { useUploads, type Picked } from '../src/composables/useUploads'
import type { Execution, SubmitRequest } from '../src/lib/api'
import type { ImageHeader } from '../src/lib/imageheader'
import { MOVING_POLL_MS } from '../src/lib/poll'
import { execution, result } from './fakes'

const header = (width: number, height: number) => ({ width, height }) as ImageHeader
const pick = (name: string, width = 64, height = 64): Picked => ({ image: new Blob([name]), name, url: `blob:${name}`, header: header(width, height) })

describe('useUploads', () => {
  it('uploads an image once, however often it is run', async () => {
    const upload = vi.fn(async (_: Blob, name: string) => `uploads/${name}`)
    const u = useUploads({ upload }, ref(() => null))
    const p = pick('cat.png')
    u.onPicked(p)
    expect(await u.upload(p)).toBe('uploads/cat.png')
    expect(await u.upload(p)).toBe('uploads/cat.png')
    expect(upload).toHaveBeenCalledTimes(1)
  })

  it('says why a file was refused until the next pick, and why a pick no longer fits the operation', async () => {
    const limit = ref(10_000)
    const check = computed(() => (h: ImageHeader) => (h.width! * h.height! > limit.value ? 'too large for this operation' : null))
    const u = useUploads({ upload: vi.fn() }, check)
    u.onRefused('notes.png is not an image')
    expect([u.pickError.value, u.hasPick.value]).toEqual(['notes.png is not an image', false])
    u.onPicked(pick('cat.png', 64, 64))
    expect([u.pickError.value, u.hasPick.value]).toEqual(['', true])
    limit.value = 1000 // the operation changed: the picked image is now too large
    expect(u.pickError.value).toBe('cat.png: too large for this operation')
    u.onBatch([pick('a.png', 8, 8), pick('b.png', 8, 8)])
    expect([u.picked.value, u.batchPicks.value.length, u.pickError.value]).toEqual([null, 2, ''])
  })
})

describe('useExecution', () => {
  beforeEach(() => {
    vi.useFakeTimers()
    window.history.replaceState(null, '', '/')
  })
  afterEach(() => vi.useRealTimers())

  function fakeApi(statuses: Execution[]) {
    const keys: string[] = []
    let lose = 0
    return {
      keys,
      loseNext: () => (lose = 1),
      api: {
        submit: vi.fn(async (_: SubmitRequest, key: string) => {
          keys.push(key)
          if (lose-- > 0) throw new TypeError('Failed to fetch')
          return { execution_id: 'E', status: 'RUNNING' } as never
        }),
        execution: vi.fn(async () => (statuses.length > 1 ? statuses.shift()! : statuses[0])),
        cancel: vi.fn(async () => execution({ execution_id: 'E', status: 'ABORTED' })),
      },
    }
  }
  const request: SubmitRequest = { operation: 'denoise', upload: 'uploads/u', options: {} }

  it('submits, follows to the end at /run/<id>, and names the result and what ran', async () => {
    const done = execution({
      execution_id: 'E',
      operation: 'denoise',
      status: 'SUCCEEDED',
      results: [result('denoise', 'results/local/E/denoise/result.png', '/d/r', 'image/png', 'cat-denoised.png')],
      metadata: { denoise: { method: 'tv' } },
    })
    const { api } = fakeApi([execution({ execution_id: 'E' }), done])
    const ended = vi.fn()
    const run = useExecution(api, { ended })
    expect(await run.start(async () => request)).toBe(true)
    await flushPromises()
    expect(run.running.value).toBe(true)
    expect(window.location.pathname).toBe('/run/E')
    window.history.replaceState(null, '', '/run/01JDQZ8M3V6Y7N2W4X5A9B0C1D')
    expect(runIdInUrl()).toBe('01JDQZ8M3V6Y7N2W4X5A9B0C1D') // the address a reload follows again
    window.history.replaceState(null, '', '/run/E')
    await vi.advanceTimersByTimeAsync(MOVING_POLL_MS) // the next poll, at the pace of a moving job
    expect(run.running.value).toBe(false)
    expect(run.downloadName.value).toBe('cat-denoised.png')
    expect(run.badge.value?.text).toBeTruthy()
    expect(ended).toHaveBeenCalledTimes(1)
    run.clear()
    expect([run.execution.value, window.location.pathname]).toEqual([null, '/'])
  })

  it('retries an unanswered submit with the same key, and a new run gets a new one', async () => {
    const { api, keys, loseNext } = fakeApi([execution({ execution_id: 'E', status: 'SUCCEEDED' })])
    const run = useExecution(api)
    loseNext()
    expect(await run.start(async () => request)).toBe(false)
    expect(run.error.value).toBe('Failed to fetch')
    expect(run.busy.value).toBe(false)
    expect(await run.start(async () => request)).toBe(true)
    expect(run.error.value).toBe('')
    await run.start(async () => request)
    expect(keys[1]).toBe(keys[0])
    expect(keys[2]).not.toBe(keys[1])
    run.stop()
  })

  it('a failed upload is the error beside Run, and nothing is submitted', async () => {
    const { api } = fakeApi([])
    const run = useExecution(api)
    expect(await run.start(async () => Promise.reject(new Error('the upload was refused')))).toBe(false)
    expect(run.error.value).toBe('the upload was refused')
    expect(api.submit).not.toHaveBeenCalled()
  })

  it('cancels the execution it follows', async () => {
    const { api } = fakeApi([execution({ execution_id: 'E' })])
    const run = useExecution(api)
    await run.start(async () => request)
    await flushPromises()
    await run.cancel()
    expect(api.cancel).toHaveBeenCalledWith('E')
    expect(run.execution.value?.status).toBe('ABORTED')
    run.stop()
  })

  it('a reopened run hands its first status over (to restore the form) and does not count as just ended', async () => {
    const { api } = fakeApi([execution({ execution_id: 'E', status: 'SUCCEEDED', operation: 'denoise' })])
    const ended = vi.fn()
    const first = vi.fn()
    useExecution(api, { ended }).follow('E', first)
    await flushPromises()
    expect(first).toHaveBeenCalledTimes(1)
    expect(first.mock.calls[0][0].operation).toBe('denoise')
    expect(ended).not.toHaveBeenCalled()
  })
})

describe('useRememberedFlag', () => {
  beforeEach(() => window.localStorage.clear())

  it('starts from the fallback and keeps what the user chose', async () => {
    const open = useRememberedFlag('test.flag', false)
    expect(open.value).toBe(false)
    open.value = true
    await nextTick()
    expect(window.localStorage.getItem('test.flag')).toBe('true')
    expect(useRememberedFlag('test.flag', false).value).toBe(true) // the next visit
  })

  it('works, unremembered, where storage is refused', async () => {
    const spy = vi.spyOn(Storage.prototype, 'getItem').mockImplementation(() => {
      throw new Error('denied')
    })
    const open = useRememberedFlag('test.denied', true)
    expect(open.value).toBe(true)
    spy.mockRestore()
  })
})
