import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { ApiError, type Execution } from '../src/lib/api'
import { followExecution } from '../src/lib/poll'
import { execution } from './fakes'

describe('followExecution', () => {
  beforeEach(() => vi.useFakeTimers())
  afterEach(() => vi.useRealTimers())

  it('polls until the execution ends, then stops', async () => {
    const answers = [execution({ progress: { stage: 'tiles', done: 1, total: 4, percent: 25 } }), execution({ status: 'SUCCEEDED' })]
    const api = { execution: vi.fn(async () => answers.shift() ?? execution({ status: 'SUCCEEDED' })) }
    const seen: Execution[] = []
    followExecution(api, 'E', (e) => seen.push(e), () => {}, 100)
    await vi.advanceTimersByTimeAsync(1000)
    expect(seen.map((e) => e.status)).toEqual(['RUNNING', 'SUCCEEDED'])
    expect(api.execution).toHaveBeenCalledTimes(2)
  })

  it('keeps polling through a transient error and reports it', async () => {
    let calls = 0
    const api = {
      execution: vi.fn(async () => {
        calls++
        if (calls === 1) throw new ApiError('The server cannot be reached.', 0)
        return execution({ status: 'FAILED', error: { type: 'JobFailed', message: 'the model ran out of memory' } })
      }),
    }
    const errors: string[] = []
    const seen: Execution[] = []
    followExecution(api, 'E', (e) => seen.push(e), (e) => errors.push(e.message), 100)
    await vi.advanceTimersByTimeAsync(500)
    expect(errors).toEqual(['The server cannot be reached.'])
    expect(seen[0].error?.message).toBe('the model ran out of memory')
  })

  it('stops at once when asked', async () => {
    const api = { execution: vi.fn(async () => execution()) }
    const stop = followExecution(api, 'E', () => {}, () => {}, 100)
    await vi.advanceTimersByTimeAsync(250)
    stop()
    const count = api.execution.mock.calls.length
    await vi.advanceTimersByTimeAsync(1000)
    expect(api.execution).toHaveBeenCalledTimes(count)
  })
})
