import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { ApiError, type Execution } from '../src/lib/api'
import {
  ERROR_POLL_MAX_MS,
  ERROR_POLL_MS,
  HIDDEN_POLL_MS,
  MOVING_POLL_MS,
  QUEUED_POLL_MS,
  RETRY_AFTER_MAX_MS,
  UNCHANGED_POLL_MAX_MS,
  followExecution,
  isWaiting,
  nextPollDelay,
  parseRetryAfter,
  statusFingerprint,
  retryAfterOf,
  type PollState,
} from '../src/lib/poll'
import { execution } from './fakes'

const answered: PollState = { waiting: false, unchanged: 0, errors: 0, retryAfterMs: null, hidden: false }
// As the API answers a run whose job waits for a GPU: the job's state, no progress from the job, the stage in words.
const queued = (overrides: Partial<Execution> = {}) =>
  execution({
    current_state: 'Upscale',
    stage: 'queued for a GPU',
    progress: { stage: 'Upscale', done: 0, total: 0, percent: 0 },
    ...overrides,
  })

describe('nextPollDelay', () => {
  it('polls a moving job fastest and a job waiting for a GPU slower', () => {
    expect(nextPollDelay(answered)).toBe(MOVING_POLL_MS)
    expect(nextPollDelay({ ...answered, waiting: true })).toBe(QUEUED_POLL_MS)
    expect(QUEUED_POLL_MS).toBeGreaterThan(MOVING_POLL_MS)
  })

  it('slows down gently while the answers stay the same, up to a cap', () => {
    const delays = [0, 1, 2, 3, 4, 5, 10, 50].map((unchanged) => nextPollDelay({ ...answered, unchanged }))
    expect(delays[0]).toBe(MOVING_POLL_MS)
    expect(delays[1]).toBe(MOVING_POLL_MS * 1.5)
    for (let i = 1; i < delays.length; i++) expect(delays[i]).toBeGreaterThanOrEqual(delays[i - 1])
    expect(Math.max(...delays)).toBe(UNCHANGED_POLL_MAX_MS)
    expect(nextPollDelay({ ...answered, waiting: true, unchanged: 50 })).toBe(UNCHANGED_POLL_MAX_MS)
  })

  it('backs off exponentially after errors, capped, and never faster than the moving pace', () => {
    const delays = [1, 2, 3, 4, 5, 6, 20].map((errors) => nextPollDelay({ ...answered, errors, jitter: 0 }))
    expect(delays).toEqual([ERROR_POLL_MS, 2 * ERROR_POLL_MS, 4 * ERROR_POLL_MS, 8 * ERROR_POLL_MS, ERROR_POLL_MAX_MS, ERROR_POLL_MAX_MS, ERROR_POLL_MAX_MS])
    for (const jitter of [0, 0.5, 0.999]) {
      for (const errors of [1, 3, 30]) {
        const delay = nextPollDelay({ ...answered, errors, jitter })
        expect(delay).toBeGreaterThanOrEqual(MOVING_POLL_MS)
        expect(delay).toBeLessThanOrEqual(ERROR_POLL_MAX_MS)
      }
    }
    // The jitter spreads pages refused together: not all come back at the same moment.
    expect(nextPollDelay({ ...answered, errors: 2, jitter: 0.9 })).toBeGreaterThan(nextPollDelay({ ...answered, errors: 2, jitter: 0 }))
  })

  it('waits at least what Retry-After asks, within reason', () => {
    expect(nextPollDelay({ ...answered, errors: 1, jitter: 0, retryAfterMs: 20_000 })).toBe(20_000)
    expect(nextPollDelay({ ...answered, errors: 5, jitter: 0, retryAfterMs: 1_000 })).toBe(ERROR_POLL_MAX_MS) // at least, not at most
    expect(nextPollDelay({ ...answered, errors: 1, retryAfterMs: 24 * 3600_000 })).toBe(RETRY_AFTER_MAX_MS)
  })

  it('polls a hidden page rarely', () => {
    expect(nextPollDelay({ ...answered, hidden: true })).toBe(HIDDEN_POLL_MS)
    expect(nextPollDelay({ ...answered, hidden: true, errors: 1, retryAfterMs: 90_000 })).toBe(90_000)
  })
})

describe('Retry-After', () => {
  const now = Date.parse('2026-12-07T10:00:00Z')

  it('reads delay-seconds and HTTP dates', () => {
    expect(parseRetryAfter('120', now)).toBe(120_000)
    expect(parseRetryAfter(' 0 ', now)).toBe(0)
    expect(parseRetryAfter('Mon, 07 Dec 2026 10:00:30 GMT', now)).toBe(30_000)
    expect(parseRetryAfter('Mon, 07 Dec 2026 09:00:00 GMT', now)).toBe(0) // already past
    expect(parseRetryAfter('soon', now)).toBeNull()
    expect(parseRetryAfter('-5', now)).toBeNull()
    expect(parseRetryAfter(null, now)).toBeNull()
  })

  it("takes a failed poll's header, else the problem document's retry_after_s", () => {
    expect(retryAfterOf(new ApiError('The queue is full', 429, { retry_after_s: 12 }), now)).toBe(12_000)
    const withHeaders = Object.assign(new ApiError('x', 503, { retry_after_s: 12 }), { headers: new Headers({ 'Retry-After': '7' }) })
    expect(retryAfterOf(withHeaders, now)).toBe(7_000)
    expect(retryAfterOf(new ApiError('The server cannot be reached.', 0), now)).toBeNull()
    expect(retryAfterOf(new TypeError('Failed to fetch'), now)).toBeNull()
  })
})

describe('isWaiting', () => {
  it('is what the server\'s stage says: waiting for a GPU, not a job that has started but written nothing yet', () => {
    expect(isWaiting(queued())).toBe(true)
    // Running, its container starting: the same state and no progress, but no longer waiting for a GPU.
    expect(isWaiting(queued({ stage: 'running upscale' }))).toBe(false)
    expect(isWaiting(queued({ current_state: 'ValidateInput', stage: 'validating' }))).toBe(false)
    expect(isWaiting(queued({ status: 'FAILED' }))).toBe(false)
  })

  it("without a stage from the server (an older one), is a job's state with no progress from the job yet", () => {
    const inJobState = (stage: string, current_state: string) => execution({ current_state, progress: { stage, done: 0, total: 0, percent: 12 } })
    expect(isWaiting(inJobState('Upscale', 'Upscale'))).toBe(true) // the job has written nothing yet
    expect(isWaiting(inJobState('tiles', 'Upscale'))).toBe(false) // it has: it runs
    expect(isWaiting(inJobState('ValidateInput', 'ValidateInput'))).toBe(false) // no GPU to wait for
    expect(isWaiting(queued())).toBe(true)
    expect(isWaiting(queued({ status: 'ABORTED' }))).toBe(false)
  })
})

describe('statusFingerprint', () => {
  it('leaves out what changes by itself: the clocks and the signed links', () => {
    const a = execution({ input_url: '/d/in?sig=1', progress: { stage: 'tiles', done: 1, total: 4, percent: 25, elapsed_s: 3, remaining_s: 9 } })
    const b = execution({ input_url: '/d/in?sig=2', progress: { stage: 'tiles', done: 1, total: 4, percent: 25, elapsed_s: 5, remaining_s: 7 } })
    const c = execution({ progress: { stage: 'tiles', done: 2, total: 4, percent: 50 } })
    expect(statusFingerprint(a)).toBe(statusFingerprint(b))
    expect(statusFingerprint(a)).not.toBe(statusFingerprint(c))
  })
})

describe('followExecution', () => {
  beforeEach(() => vi.useFakeTimers())
  afterEach(() => vi.useRealTimers())

  /** When each poll was sent, in ms since following began. */
  function timedApi(answer: (call: number) => Execution) {
    const start = Date.now()
    const at: number[] = []
    const api = {
      execution: vi.fn(async () => {
        at.push(Date.now() - start)
        return answer(at.length)
      }),
    }
    return { api, at }
  }

  it('polls until the execution ends, then stops', async () => {
    const answers = [execution({ progress: { stage: 'tiles', done: 1, total: 4, percent: 25 } }), execution({ status: 'SUCCEEDED' })]
    const api = { execution: vi.fn(async () => answers.shift() ?? execution({ status: 'SUCCEEDED' })) }
    const seen: Execution[] = []
    followExecution(api, 'E', (e) => seen.push(e), () => {})
    await vi.advanceTimersByTimeAsync(60_000)
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
    followExecution(api, 'E', (e) => seen.push(e), (e) => errors.push(e.message))
    await vi.advanceTimersByTimeAsync(ERROR_POLL_MAX_MS)
    expect(errors).toEqual(['The server cannot be reached.'])
    expect(seen[0].error?.message).toBe('the model ran out of memory')
  })

  it('polls a queued job slowly and speeds up once its progress moves', async () => {
    const { api, at } = timedApi((call) =>
      call <= 2 ? queued() : execution({ progress: { stage: 'tiles', done: call, total: 9, percent: call * 10 } }),
    )
    const stop = followExecution(api, 'E', () => {}, () => {}, { random: () => 0 })
    await vi.advanceTimersByTimeAsync(2.5 * QUEUED_POLL_MS + MOVING_POLL_MS)
    stop()
    // The second answer is the same as the first (a 304): a little slower still; then the job moves.
    expect(at).toEqual([0, QUEUED_POLL_MS, 2.5 * QUEUED_POLL_MS, 2.5 * QUEUED_POLL_MS + MOVING_POLL_MS])
  })

  it('slows down while the status stays the same, capped', async () => {
    const { api, at } = timedApi(() => execution())
    const stop = followExecution(api, 'E', () => {}, () => {})
    await vi.advanceTimersByTimeAsync(60_000)
    stop()
    const gaps = at.slice(1).map((t, i) => t - at[i])
    expect(gaps[0]).toBe(MOVING_POLL_MS)
    expect(gaps[1]).toBe(MOVING_POLL_MS * 1.5)
    expect(Math.max(...gaps)).toBe(UNCHANGED_POLL_MAX_MS)
    expect(at.length).toBeLessThan(60_000 / MOVING_POLL_MS / 2)
  })

  it('takes a 304 that reaches it as the same status, not an error', async () => {
    let calls = 0
    const api = {
      execution: vi.fn(async () => {
        if (++calls === 2) throw new ApiError('Not Modified', 304)
        return execution()
      }),
    }
    const errors: string[] = []
    const stop = followExecution(api, 'E', () => {}, (e) => errors.push(e.message))
    await vi.advanceTimersByTimeAsync(MOVING_POLL_MS + MOVING_POLL_MS * 1.5)
    stop()
    expect(errors).toEqual([])
    expect(api.execution).toHaveBeenCalledTimes(3)
  })

  it('backs off exponentially while polls fail, up to the cap', async () => {
    const { api, at } = timedApi(() => {
      throw new ApiError('Service Unavailable', 503)
    })
    const errors: string[] = []
    const stop = followExecution(api, 'E', () => {}, (e) => errors.push(e.message), { random: () => 0 })
    await vi.advanceTimersByTimeAsync(120_000)
    stop()
    const gaps = at.slice(1).map((t, i) => t - at[i])
    expect(gaps.slice(0, 6)).toEqual([ERROR_POLL_MS, 2 * ERROR_POLL_MS, 4 * ERROR_POLL_MS, 8 * ERROR_POLL_MS, ERROR_POLL_MAX_MS, ERROR_POLL_MAX_MS])
    expect(errors.length).toBe(at.length) // each failure is still reported
  })

  it("waits what a refusal's Retry-After asks, then goes back to the pace", async () => {
    const { api, at } = timedApi((call) => {
      if (call === 1) throw new ApiError('Too many requests: try again in 20 s', 429, { retry_after_s: 20 })
      return execution({ progress: { stage: 'tiles', done: call, total: 9, percent: call * 10 } })
    })
    const stop = followExecution(api, 'E', () => {}, () => {}, { random: () => 0 })
    await vi.advanceTimersByTimeAsync(20_000 + MOVING_POLL_MS)
    stop()
    expect(at).toEqual([0, 20_000, 20_000 + MOVING_POLL_MS])
  })

  it('stops on a 404', async () => {
    const api = { execution: vi.fn(async () => Promise.reject(new ApiError('No such execution', 404))) }
    followExecution(api, 'E', () => {}, () => {})
    await vi.advanceTimersByTimeAsync(120_000)
    expect(api.execution).toHaveBeenCalledTimes(1)
  })

  it('polls a hidden page rarely, and catches up as soon as it is shown', async () => {
    let hidden = true
    const { api, at } = timedApi((call) => execution({ progress: { stage: 'tiles', done: call, total: 9, percent: call * 10 } }))
    const stop = followExecution(api, 'E', () => {}, () => {}, { hidden: () => hidden })
    await vi.advanceTimersByTimeAsync(HIDDEN_POLL_MS - 1)
    expect(at).toEqual([0])
    hidden = false
    document.dispatchEvent(new Event('visibilitychange'))
    await vi.advanceTimersByTimeAsync(0)
    expect(at).toEqual([0, HIDDEN_POLL_MS - 1]) // due long ago at the visible pace: at once
    hidden = true
    document.dispatchEvent(new Event('visibilitychange'))
    hidden = false
    document.dispatchEvent(new Event('visibilitychange'))
    await vi.advanceTimersByTimeAsync(MOVING_POLL_MS - 1)
    expect(at.length).toBe(2) // flipping tabs never polls faster than the visible pace
    await vi.advanceTimersByTimeAsync(1)
    expect(at.length).toBe(3)
    stop()
  })

  it('stops at once when asked, and a page shown afterwards does not poll', async () => {
    const api = { execution: vi.fn(async () => execution()) }
    const stop = followExecution(api, 'E', () => {}, () => {})
    await vi.advanceTimersByTimeAsync(2500)
    stop()
    const count = api.execution.mock.calls.length
    document.dispatchEvent(new Event('visibilitychange'))
    await vi.advanceTimersByTimeAsync(60_000)
    expect(api.execution).toHaveBeenCalledTimes(count)
  })
})
