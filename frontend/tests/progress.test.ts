import { mount } from '@vue/test-utils'
import { describe, expect, it } from 'vitest'
import ProgressPanel from '../src/components/ProgressPanel.vue'
import type { Execution } from '../src/lib/api'
import { execution } from './fakes'

describe('ProgressPanel timing', () => {
  it('shows the state, the job stage, the time so far and the estimate the server gives', () => {
    const running = execution({
      current_state: 'Upscale',
      progress: { stage: 'upscale', done: 16, total: 64, percent: 45.6, elapsed_s: 75.2, remaining_s: 12.04 } as never,
    })
    const panel = mount(ProgressPanel, { props: { execution: running } })
    // In plain words; the state's own name stays on data-state.
    expect(panel.get('[data-testid="state"]').text()).toBe('Enlarging')
    expect(panel.get('[data-testid="state"]').attributes('data-state')).toBe('Upscale')
    // The tiler counts steps within tiles: nothing a person counts; the state and the percent say it.
    expect(panel.get('[data-testid="stage"]').text()).toBe('')
    expect(panel.get('[data-testid="percent"]').text()).toBe('46%')
    expect(panel.get('[data-testid="elapsed"]').text()).toBe('1 min 15 s so far')
    expect(panel.get('[data-testid="remaining"]').text()).toBe('about 12 s left')
  })

  it('says nothing about time left without an estimate, nor once it has ended', () => {
    const early = execution({ current_state: 'ValidateInput', progress: { stage: 'ValidateInput', done: 0, total: 0, percent: 0, elapsed_s: 0.4, remaining_s: null } as never })
    const panel = mount(ProgressPanel, { props: { execution: early } })
    expect(panel.find('[data-testid="remaining"]').exists()).toBe(false)
    expect(panel.get('[data-testid="elapsed"]').text()).toBe('0.4 s so far')
    expect(panel.get('[data-testid="stage"]').text()).toBe('')
    const done = execution({ status: 'SUCCEEDED', duration_s: 8, progress: { stage: 'done', done: 1, total: 1, percent: 100, elapsed_s: 8, remaining_s: 0 } as never })
    const ended = mount(ProgressPanel, { props: { execution: done } })
    expect(ended.find('[data-testid="remaining"]').exists()).toBe(false)
    expect(ended.get('[data-testid="duration"]').text()).toBe('Took 8.0 s')
  })

  it('says "Done, with warnings" when a job warned', () => {
    const warned = execution({ status: 'SUCCEEDED', duration_s: 2, metadata: { inpaint: { warnings: ['the result equals the input'] } } })
    expect(mount(ProgressPanel, { props: { execution: warned } }).get('[data-testid="status"]').text()).toBe('Done, with warnings')
  })
})

describe('ProgressPanel stage', () => {
  // As the API answers before the job has written any progress: the job's state, its name as the progress stage.
  const beforeTheJobSpeaks = (stage: string | null) =>
    execution({
      current_state: 'Upscale',
      stage,
      progress: { stage: 'Upscale', done: 0, total: 0, percent: 5, elapsed_s: 3, remaining_s: null },
    })
  const stageText = (e: Execution) => mount(ProgressPanel, { props: { execution: e } }).get('[data-testid="stage"]').text()

  it('says what a run waits for, or that its job runs, while the job has said nothing yet', () => {
    expect(stageText(beforeTheJobSpeaks('queued for a GPU'))).toBe('Waiting for a free GPU')
    expect(stageText(beforeTheJobSpeaks('running upscale'))).toBe('Running upscale')
    expect(stageText(execution({ current_state: 'ValidateInput', stage: 'queued to validate', progress: { stage: 'ValidateInput', done: 0, total: 0, percent: 0 } }))).toBe('Waiting to start')
    // The state's own words already say it: nothing twice.
    expect(stageText(execution({ current_state: 'RecordResult', stage: 'recording', progress: { stage: 'RecordResult', done: 0, total: 0, percent: 90 } }))).toBe('')
    expect(stageText(beforeTheJobSpeaks(null))).toBe('') // a server without stages: as before
  })

  it("gives way to the job's own stage once it writes one, and says nothing once the run has ended", () => {
    const counting = execution({ current_state: 'Inpaint', stage: 'running inpaint', progress: { stage: 'inpainting', done: 2, total: 5, percent: 60 } })
    expect(stageText(counting)).toBe('2 of 5 areas done')
    expect(stageText({ ...beforeTheJobSpeaks('queued for a GPU'), status: 'FAILED' })).toBe('')
  })
})

