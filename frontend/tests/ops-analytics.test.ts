// Ops as a timeline of states; Analytics as charts.
import { flushPromises, mount } from '@vue/test-utils'
import { describe, expect, it, vi } from 'vitest'
import AnalyticsPage from '../src/pages/AnalyticsPage.vue'
import OpsPage from '../src/pages/OpsPage.vue'
import type { HistoryEvent } from '../src/lib/api'
import { chartData, defaultMeasures, numericColumns } from '../src/lib/charts'
import { timeline } from '../src/lib/timeline'
import { execution } from './fakes'

const T = (s: number) => new Date(Date.UTC(2026, 0, 1, 10, 0, 0) + s * 1000).toISOString()
const entered = (id: number, s: number, name: string, kind = 'Task'): HistoryEvent => ({
  id,
  type: `${kind}StateEntered`,
  timestamp: T(s),
  stateEnteredEventDetails: { name },
})
const exited = (id: number, s: number, name: string, kind = 'Task'): HistoryEvent => ({
  id,
  type: `${kind}StateExited`,
  timestamp: T(s),
  stateExitedEventDetails: { name },
})

// An upscale whose job failed once (retried) and then succeeded; and one whose job failed for good.
const retried: HistoryEvent[] = [
  { id: 1, type: 'ExecutionStarted', timestamp: T(0) },
  entered(2, 0.1, 'ValidateInput'),
  { id: 3, type: 'LambdaFunctionScheduled', timestamp: T(0.1) },
  exited(4, 0.5, 'ValidateInput'),
  entered(5, 0.5, 'ChooseOperation', 'Choice'),
  exited(6, 0.5, 'ChooseOperation', 'Choice'),
  entered(7, 0.5, 'Upscale'),
  { id: 8, type: 'TaskScheduled', timestamp: T(0.6) },
  { id: 9, type: 'TaskFailed', timestamp: T(2), taskFailedEventDetails: { error: 'Batch.ServerException', cause: 'throttled' } },
  { id: 10, type: 'TaskScheduled', timestamp: T(3) },
  { id: 11, type: 'TaskSucceeded', timestamp: T(10.5) },
  exited(12, 10.5, 'Upscale'),
  entered(13, 10.5, 'RecordResult'),
  exited(14, 11, 'RecordResult'),
  { id: 15, type: 'ExecutionSucceeded', timestamp: T(11) },
]

describe('timeline', () => {
  it("gives each state its start, duration and retries, in the order entered", () => {
    const t = timeline(retried)
    expect(t.spans.map((s) => [s.name, s.kind, s.startMs, s.endMs, s.retries])).toEqual([
      ['ValidateInput', 'Task', 100, 500, 0],
      ['ChooseOperation', 'Choice', 500, 500, 0],
      ['Upscale', 'Task', 500, 10500, 1],
      ['RecordResult', 'Task', 10500, 11000, 0],
    ])
    expect(t.spans[2].error).toBe('Batch.ServerException: throttled') // the retried attempt's error
    expect([t.outcome, t.totalMs, t.error]).toEqual(['Succeeded', 11000, null])
  })

  it('ends a state that failed without an exit where the execution ended, with its error', () => {
    const t = timeline([
      { id: 1, type: 'ExecutionStarted', timestamp: T(0) },
      entered(2, 0, 'Denoise'),
      { id: 3, type: 'TaskFailed', timestamp: T(4), taskFailedEventDetails: { error: 'States.TaskFailed', cause: 'out of memory' } },
      { id: 4, type: 'ExecutionFailed', timestamp: T(5), executionFailedEventDetails: { error: 'JobFailed', cause: 'the job ran out of memory' } },
    ])
    expect(t.spans[0]).toMatchObject({ name: 'Denoise', endMs: 5000, error: 'States.TaskFailed: out of memory' })
    expect([t.outcome, t.error]).toEqual(['Failed', 'JobFailed: the job ran out of memory'])
  })

  it('leaves a running state open, measured up to now', () => {
    const t = timeline([{ id: 1, type: 'ExecutionStarted', timestamp: T(0) }, entered(2, 1, 'Upscale')], Date.parse(T(7)))
    expect([t.spans[0].endMs, t.outcome, t.totalMs]).toEqual([null, null, 7000])
  })
})

describe('OpsPage', () => {
  it('draws the selected execution as a timeline with durations and retries', async () => {
    const api = {
      history: vi.fn(async () => ({ items: [execution({ execution_id: 'E1' })], next_cursor: null })),
      events: vi.fn(async () => retried),
    }
    const page = mount(OpsPage, { props: { api } })
    await flushPromises()
    await page.get('[data-testid="ops-executions"] tbody tr').trigger('click')
    await flushPromises()
    const states = page.findAll('[data-testid="ops-state"]')
    expect(states.map((s) => s.attributes('data-state'))).toEqual(['ValidateInput', 'ChooseOperation', 'Upscale', 'RecordResult'])
    expect(states.map((s) => s.get('[data-testid="ops-duration"]').text())).toEqual(['0.40 s', '0.00 s', '10.0 s', '0.50 s'])
    expect(states[2].text()).toContain('1 retry')
    expect(states[2].get('.bar').attributes('style')).toMatch(/left: 4\.54\d*%; width: 90\.9\d*%/)
    expect(page.get('[data-testid="ops-outcome"]').text()).toBe('· Succeeded in 11.0 s')
  })
})

const durations = {
  name: 'duration_percentiles_by_operation_device',
  columns: ['operation', 'device', 'executions', 'p50_total_ms', 'p95_total_ms', 'p50_job_ms', 'p95_job_ms'],
  rows: [
    { operation: 'denoise', device: 'cpu', executions: 3, p50_total_ms: 4100, p95_total_ms: 6000, p50_job_ms: 3000, p95_job_ms: 5000 },
    { operation: 'upscale', device: 'cpu', executions: 2, p50_total_ms: 9000, p95_total_ms: null, p50_job_ms: 8000, p95_job_ms: 8500 },
  ],
}

describe('charts', () => {
  it('labels bars by the text columns and charts the measures the query is about', () => {
    expect(numericColumns(durations)).toEqual(['executions', 'p50_total_ms', 'p95_total_ms', 'p50_job_ms', 'p95_job_ms'])
    expect(defaultMeasures(durations)).toEqual(['p50_total_ms', 'p95_total_ms'])
    const data = chartData(durations, defaultMeasures(durations))
    expect(data.labels).toEqual(['denoise · cpu', 'upscale · cpu'])
    expect(data.datasets.map((d) => [d.label, d.data])).toEqual([
      ['p50_total_ms', [4100, 9000]],
      ['p95_total_ms', [6000, null]],
    ])
  })

  it('charts the first numeric column of a query it has no choice for', () => {
    const answer = { name: 'new_query', columns: ['model', 'runs'], rows: [{ model: 'x4plus', runs: 5 }] }
    expect(defaultMeasures(answer)).toEqual(['runs'])
  })

  it('runs the chosen query at once and draws a chart above the table', async () => {
    const api = {
      namedQueries: vi.fn(async () => [{ name: durations.name, description: 'How long' }]),
      runQuery: vi.fn(async () => durations),
    }
    const page = mount(AnalyticsPage, { props: { api } })
    await flushPromises()
    await flushPromises()
    expect(api.runQuery).toHaveBeenCalledWith(durations.name) // no click needed
    expect(page.find('[data-testid="chart"] canvas').exists()).toBe(true)
    expect((page.get('[data-testid="measure-p50_total_ms"]').element as HTMLInputElement).checked).toBe(true)
    expect((page.get('[data-testid="measure-executions"]').element as HTMLInputElement).checked).toBe(false)
    expect(page.get('[data-testid="answer"]').text()).toContain('upscale')
  })
})

describe('AnalyticsPage runs one query at a time', () => {
  it('a choice made while a query runs waits for it, and a choice replaced meanwhile is not run', async () => {
    const pending: ((a: unknown) => void)[] = []
    const api = {
      namedQueries: vi.fn(async () => ['a', 'b', 'c'].map((name) => ({ name, description: name }))),
      runQuery: vi.fn((name: string) => new Promise((resolve) => pending.push(() => resolve({ name, columns: ['x', 'n'], rows: [{ x: name, n: 1 }] })))),
    }
    const page = mount(AnalyticsPage, { props: { api: api as never } })
    await flushPromises()
    expect(api.runQuery.mock.calls.map((c) => c[0])).toEqual(['a'])
    await page.get('[data-testid="query"]').setValue('b')
    await page.get('[data-testid="query"]').setValue('c')
    await flushPromises()
    expect(api.runQuery).toHaveBeenCalledTimes(1) // still only 'a', running
    pending.shift()!(null)
    await flushPromises()
    expect(api.runQuery.mock.calls.map((c) => c[0])).toEqual(['a', 'c']) // 'b' was replaced before its turn
    pending.shift()!(null)
    await flushPromises()
    expect(page.get('[data-testid="answer"]').text()).toContain('c')
  })
})
