import { flushPromises, mount } from '@vue/test-utils'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import App from '../src/App.vue'
import { ApiClient } from '../src/lib/api'
import { costBasis, costWords, type RunCost } from '../src/lib/cost'
import { estimateBatch, estimateRun, priceInWords } from '../src/lib/estimate'
import { createAppRouter } from '../src/router'
import { specOf, type ServedOperation } from '../src/lib/operations'
import { execution, json, scriptedFetch } from './fakes'
import served from './served-operations.json'

const upscale = specOf((served as ServedOperation[]).find((o) => o.name === 'upscale')!)

const priced = (usd: number, over: Partial<RunCost> = {}): RunCost => ({
  usd,
  device_seconds: 44,
  usd_per_second: usd / 44,
  instance_type: 'g5.xlarge',
  capacity: 'on-demand',
  price_source: 'g5.xlarge On-Demand us-east-1 $1.006/h (price table as of 2025-06-01)',
  ...over,
})
const local: RunCost = {
  usd: 0,
  device_seconds: 3.2,
  usd_per_second: 0,
  instance_type: 'local',
  capacity: 'local',
  price_source: 'local: configured $0.0/h (local_price_per_gpu_hour_usd)',
}

describe('costWords', () => {
  it('says a priced run’s cost in dollars, a free local one as free, and none when there is none', () => {
    expect(costWords(priced(0.0123))).toBe('Cost: $0.0123')
    expect(costWords(priced(2.5))).toBe('Cost: $2.50')
    expect(costWords(local)).toBe('Cost: free (local)')
    expect(costWords({ ...local, usd: 0.004, usd_per_second: 0.00125 })).toBe('Cost: $0.0040')
    expect(costWords(null)).toBeNull()
    expect(costWords(undefined)).toBeNull()
  })

  it('names a price that stood in for the unknown machine as an estimate', () => {
    const fallback = priced(0.0148, { price_source: 'fallback: one of g5.xlarge, g5.2xlarge, priced as the dearest: …' })
    expect(costWords(fallback)).toBe('Cost: $0.0148 (estimated: the exact machine is not known)')
    expect(costBasis(fallback)).toMatch(/^44\.0 device seconds at \$1\.21\/h: fallback: one of/)
  })
})

describe('the estimate before Run', () => {
  const run = (id: string, side: number, duration: number, cost: RunCost | null) =>
    execution({ execution_id: id, status: 'SUCCEEDED', duration_s: duration, options: { model: 'realesrgan-x4plus' },
      metadata: { upscale: { input: { width: side, height: side } } }, cost })
  const defaults = { model: 'realesrgan-x4plus' }

  it('gives a price beside the time, scaled like the time from the same past run', () => {
    const e = estimateRun([run('A', 256, 120, priced(0.01))], upscale, {}, defaults, 512 * 512)!
    expect(e.usd).toBeCloseTo(0.04, 12)
    expect(priceInWords(e)).toBe(', about $0.0400')
    expect(priceInWords(estimateRun([run('L', 256, 10, local)], upscale, {}, defaults, 256 * 256)!)).toBe(', free')
  })

  it('gives no price when the past run recorded none, for one image or a batch', () => {
    const e = estimateRun([run('N', 256, 12, null)], upscale, {}, defaults, 256 * 256)!
    expect(e.usd).toBeNull()
    expect(priceInWords(e)).toBe('')
    const past = [run('A', 256, 120, priced(0.01)), run('N', 64, 12, null)]
    expect(estimateBatch(past, upscale, {}, defaults, [256 * 256, 64 * 64])!.usd).toBeNull()
    expect(estimateBatch(past, upscale, {}, defaults, [256 * 256, 512 * 512])!.usd).toBeCloseTo(0.05, 12)
  })
})

describe('the run’s result view', () => {
  beforeEach(() => {
    vi.useFakeTimers()
    window.history.replaceState(null, '', '/')
  })
  afterEach(() => vi.useRealTimers())

  async function shown(done: ReturnType<typeof execution>) {
    window.history.replaceState(null, '', `/run/${done.execution_id}`)
    const { fetcher } = scriptedFetch([
      (url) => (url === '/authorize' ? json({ access_token: 'T', expires_in: 60, user: 'local' }) : undefined),
      (url) => (url === `/image-ai-analysis/${done.execution_id}` ? json(done) : undefined),
      (url) => (url.startsWith('/image-ai-analysis?') ? json({ items: [], next_cursor: null }) : undefined),
    ])
    const app = mount(App, { global: { plugins: [createAppRouter()] }, props: { api: new ApiClient('', fetcher) } })
    await flushPromises()
    return app
  }

  it('shows what a finished run cost, with its device seconds and price source on hover', async () => {
    const app = await shown(execution({ execution_id: '01JDQZ8M3V6Y7N2W4X5A9B0C2A', status: 'SUCCEEDED', duration_s: 50,
      cost: priced(0.0123) }))
    const line = app.get('[data-testid="run-cost"]')
    expect(line.text()).toBe('Cost: $0.0123')
    expect(line.attributes('title')).toBe(
      '44.0 device seconds at $1.01/h: g5.xlarge On-Demand us-east-1 $1.006/h (price table as of 2025-06-01)',
    )
  })

  it('shows a local run as free, a failed run’s cost too, and nothing while it runs or without a cost', async () => {
    expect((await shown(execution({ execution_id: '01JDQZ8M3V6Y7N2W4X5A9B0C2B', status: 'SUCCEEDED', cost: local })))
      .get('[data-testid="run-cost"]').text()).toBe('Cost: free (local)')
    const failed = execution({ execution_id: '01JDQZ8M3V6Y7N2W4X5A9B0C2C', status: 'FAILED', cost: priced(0.002),
      error: { type: 'JobFailed', message: 'The image is too large.' } })
    expect((await shown(failed)).get('[data-testid="run-cost"]').text()).toBe('Cost: $0.0020')
    const running = execution({ execution_id: '01JDQZ8M3V6Y7N2W4X5A9B0C2D', current_state: 'Upscale', cost: null })
    expect((await shown(running)).find('[data-testid="run-cost"]').exists()).toBe(false)
    const unpriced = execution({ execution_id: '01JDQZ8M3V6Y7N2W4X5A9B0C2E', status: 'SUCCEEDED', cost: null })
    expect((await shown(unpriced)).find('[data-testid="run-cost"]').exists()).toBe(false)
  })
})
