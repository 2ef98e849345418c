// The state App.vue (the shell) hands to its pages: the analyse page's (useAnalyse) and History's (useHistory).
import { flushPromises } from '@vue/test-utils'
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest'
import { useAnalyse, type PickerHandle } from '../src/composables/useAnalyse'
import { originalName, useHistory } from '../src/composables/useHistory'
import type { Execution } from '../src/lib/api'
import { defaultOptions, loadOperations, operation, useServedOperations, type ServedOperation } from '../src/lib/operations'
import { execution } from './fakes'
import served from './served-operations.json'

beforeAll(() => loadOperations({ operations: async () => served as ServedOperation[] }))
afterEach(() => vi.unstubAllGlobals())

// What fetch answers (jsdom's Blob does not go into Node's Response).
const fetched = (status = 200, type = 'image/png') => ({ ok: status === 200, status, blob: async () => new Blob(['png'], { type }) })
const page = (items: Execution[], next_cursor: string | null = null) => ({ items, next_cursor })

describe('useHistory', () => {
  it('lists a page, then the next one after it, with the originals’ names', async () => {
    const a = execution({ execution_id: 'A', original_name: 'cat.png' } as Partial<Execution>)
    const b = execution({ execution_id: 'B' })
    const history = vi.fn(async (_limit: number, cursor: string | null) => (cursor ? page([b]) : page([a], 'c1')))
    const h = useHistory({ history, remove: vi.fn() }, { failed: vi.fn() })
    await h.loadHistory()
    expect([h.history.value.map((e) => e.execution_id), h.historyCursor.value, h.names.value]).toEqual([['A'], 'c1', { A: 'cat.png' }])
    await h.loadHistory(true)
    expect(history).toHaveBeenLastCalledWith(20, 'c1')
    expect([h.history.value.map((e) => e.execution_id), h.historyCursor.value]).toEqual([['A', 'B'], null])
    expect([originalName(a), originalName(b)]).toEqual(['cat.png', null])
  })

  it('deletes one (then says which), and a failure is the banner’s message', async () => {
    const failed = vi.fn()
    const removed = vi.fn()
    const remove = vi.fn(async (id: string) => {
      if (id === 'B') throw new Error('no such execution')
    })
    const h = useHistory({ history: async () => page([execution({ execution_id: 'A' }), execution({ execution_id: 'B' })]), remove }, { failed, removed })
    await h.loadHistory()
    await h.removeExecution('A')
    expect([h.history.value.map((e) => e.execution_id), removed.mock.calls]).toEqual([['B'], [['A']]])
    await h.removeExecution('B')
    expect([h.history.value.length, failed.mock.calls, removed.mock.calls.length]).toEqual([1, [['no such execution']], 1])
  })
})

describe('useAnalyse', () => {
  function analyse() {
    const api = {
      submit: vi.fn(),
      execution: vi.fn(async (id: string) => execution({ execution_id: id, operation: 'detect_text', status: 'SUCCEEDED', options: { ocr_lang: 'de' } })),
      cancel: vi.fn(),
      upload: vi.fn(),
      history: vi.fn(async () => page([])),
    }
    const go = vi.fn(async (_path: string) => {})
    const a = useAnalyse(api, { go })
    const picker: PickerHandle = { take: vi.fn(async () => {}), takeAll: vi.fn(async () => {}) }
    a.imagePicker.value = picker
    return { a, api, go, picker }
  }

  it('restores the form a run was started from: a Find text preview reopens inpaint, on its defaults', () => {
    const { a } = analyse()
    a.restoreForm(execution({ operation: 'detect_text', options: { ocr_lang: 'de' } }))
    expect(a.operationName.value).toBe('inpaint')
    expect(a.options.value).toEqual({ ...defaultOptions(operation('inpaint')), ocr_lang: 'de' })
  })

  it('before the schema arrives chooses nothing; then the first operation served, or the form a run restored', async () => {
    useServedOperations([])
    const { a } = analyse()
    expect([a.operationName.value, a.spec.value.options, a.spec.value.input]).toEqual(['', [], null])
    await loadOperations({ operations: async () => served as ServedOperation[] })
    await flushPromises()
    expect([a.operationName.value, a.options.value]).toEqual([(served as ServedOperation[])[0].name, {}])

    useServedOperations([])
    const restored = analyse().a
    restored.restoreForm(execution({ operation: 'detect_text', options: { min_score: 0.7 } })) // its form is not known yet
    await loadOperations({ operations: async () => served as ServedOperation[] })
    await flushPromises()
    expect([restored.operationName.value, restored.options.value.min_score]).toEqual(['inpaint', 0.7])
  })

  it('re-runs from History: back to /, the same form, the original picked again under its name', async () => {
    const fetch = vi.fn(async (_url: string) => fetched())
    vi.stubGlobal('fetch', fetch)
    const { a, go, picker } = analyse()
    await a.rerun(execution({ operation: 'denoise', options: { method: 'tv' }, original_name: 'cat.png' } as Partial<Execution>))
    expect(go).toHaveBeenCalledWith('/')
    expect([a.operationName.value, a.options.value.method]).toEqual(['denoise', 'tv'])
    expect(fetch).toHaveBeenCalledWith('/downloads/input-token')
    expect(a.run$.error.value).toBe('')
    const file = vi.mocked(picker.take).mock.calls[0][0]
    expect([file.name, file.type]).toEqual(['cat.png', 'image/png'])
  })

  it('re-runs a batch whole, and says so when an original cannot be fetched', async () => {
    vi.stubGlobal('fetch', vi.fn(async (url: string) => (url === '/in/2' ? fetched(404) : fetched(200, ''))))
    const { a, picker } = analyse()
    const images = [
      { index: 0, input_url: '/in/1', original_name: 'a.png' },
      { index: 1, input_url: '/in/1', original_name: null },
    ] as unknown as Execution['images']
    await a.rerun(execution({ images }))
    expect(vi.mocked(picker.takeAll).mock.calls[0][0].map((f) => f.name)).toEqual(['a.png', 'image-2.png'])
    await a.rerun(execution({ images: [{ index: 0, input_url: '/in/2' }] as unknown as Execution['images'] }))
    expect(a.run$.error.value).toBe('The originals could not be picked again: it could not be fetched (404)')
  })

  it('reopens a past run at its address, its form restored from its first status', async () => {
    const { a, go } = analyse()
    a.reopen('01J000000000000000000000BB')
    await flushPromises()
    a.run$.stop()
    expect(go).toHaveBeenCalledWith('/run/01J000000000000000000000BB')
    expect([a.run$.followed.value, a.run$.execution.value?.execution_id, a.operationName.value]).toEqual([
      '01J000000000000000000000BB',
      '01J000000000000000000000BB',
      'inpaint',
    ])
  })
})
