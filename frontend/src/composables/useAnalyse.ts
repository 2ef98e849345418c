// The analyse page's state, which outlives a visit to another page: the operation and its options, the
// image(s) picked, the run on the stage and the estimate before Run. App.vue makes it once and hands it to
// the pages (useShell); History re-runs and reopens through it.
import { computed, nextTick, ref, watch } from 'vue'
import { useExecution } from './useExecution'
import { useUploads, type Picked } from './useUploads'
import type { ApiClient, Execution } from '../lib/api'
import type { ImageHeader } from '../lib/imageheader'
import { OPERATIONS, defaultOptions, formFor, operation, servedOperation, type OptionValue } from '../lib/operations'
import { imageProblem } from '../lib/precheck'
import { estimateBatch, estimateRun } from '../lib/estimate'
import { originalName } from './useHistory'

/** What the picker on the analyse page lets others do: take a file (or several) as if picked. */
export type PickerHandle = { take(file: File): Promise<void>; takeAll(files: File[]): Promise<void> }

/** Fetch an image the server links to, as a file named `name`. */
export async function fetchFile(url: string, name: string, contentType: string): Promise<File> {
  const response = await fetch(url)
  if (!response.ok) throw new Error(`it could not be fetched (${response.status})`)
  const blob = await response.blob()
  return new File([blob], name, { type: blob.type || contentType })
}

export function useAnalyse(
  api: Pick<ApiClient, 'submit' | 'execution' | 'cancel' | 'upload' | 'history'>,
  hooks: { go: (path: string) => Promise<void> | void },
) {
  // The first operation served (until the schema arrives none is chosen: ''), on its defaults; chosen
  // when the schema arrives, its options stay empty (each the job's default) until the user sets one.
  const operationName = ref(OPERATIONS[0]?.name ?? '')
  const options = ref<Record<string, OptionValue | null>>(OPERATIONS[0] ? defaultOptions(OPERATIONS[0]) : {})
  // When the schema arrives (or changes), the form keeps its operation if served (a run restored before it
  // arrived: its form's, a preview's included), else takes the first served one.
  watch(
    () => OPERATIONS.map((o) => o.name),
    (names) => {
      const kept = formFor(operationName.value)
      if (names.includes(kept)) operationName.value = kept
      else if (names.length) {
        if (operationName.value) options.value = defaultOptions(operation(names[0])) // another operation's options go
        operationName.value = names[0]
      }
    },
    { immediate: true },
  )
  // The picker of the analyse page while it is drawn (a re-run from History picks through it).
  const imagePicker = ref<PickerHandle | null>(null)

  // The operation chosen; before the schema arrives, a stand-in with no options and no input limits.
  const spec = computed(() => servedOperation(operationName.value))
  // Checked in the browser before anything is sent, with the limits and the words of the server's schema.
  const checkPick = computed(() => (header: ImageHeader, file: Blob) => imageProblem(header, file.size, spec.value.input))
  const uploads = useUploads(api, checkPick)
  const { picked, batchPicks } = uploads

  // A hint before Run: about how long this operation and model take here, from the past runs listed.
  const pastRuns = ref<Execution[]>([])
  async function loadPastRuns() {
    try {
      pastRuns.value = (await api.history(50)).items
    } catch {
      pastRuns.value = [] // only a hint: without the list there is none
    }
  }
  // A run that ends informs the next estimate; a followed run's address is /run/<id>.
  const run$ = useExecution(api, { ended: () => void loadPastRuns(), go: (path) => void hooks.go(path) })

  const estimate = computed(() => {
    const pixels = (p: Picked) => (p.header.width !== null && p.header.height !== null ? p.header.width * p.header.height : null)
    const defaults = defaultOptions(spec.value)
    if (batchPicks.value.length) {
      return estimateBatch(pastRuns.value, spec.value, options.value, defaults, batchPicks.value.map(pixels))
    }
    const p = picked.value
    return estimateRun(pastRuns.value, spec.value, options.value, defaults, p ? pixels(p) : null)
  })

  function restoreForm(e: Execution) {
    // A Find text run (detect_text) reopens the inpaint form it was started from, with its OCR options.
    const name = formFor(e.operation)
    operationName.value = name
    options.value = { ...defaultOptions(servedOperation(name)), ...(e.options as Record<string, OptionValue | null>) }
  }

  /** Fetch an image the server links to and pick it, checked like any pick (a fresh form, no outcome shown). */
  async function pickFromLink(url: string, name: string, contentType: string) {
    const file = await fetchFile(url, name, contentType)
    run$.clear()
    await nextTick() // the picker exists once the analyse page is drawn
    await imagePicker.value?.take(file)
  }

  // Re-run from History: the same original with the same operation and options in the form, ready to Run
  // (or to change first).
  async function rerun(e: Execution) {
    if (!e.input_url) return
    await hooks.go('/')
    restoreForm(e)
    if (e.images.length) return rerunBatch(e.images)
    try {
      const ext = e.input_key.split('.').pop() ?? 'png'
      await pickFromLink(e.input_url, originalName(e) ?? `original.${ext}`, '')
    } catch (err) {
      run$.error.value = `The original could not be picked again: ${(err as Error).message}`
    }
  }

  // A batch re-runs whole: every original picked again, as one batch.
  async function rerunBatch(images: Execution['images']) {
    try {
      const files = await Promise.all(
        images.flatMap((i) => (i.input_url ? [fetchFile(i.input_url, i.original_name ?? `image-${i.index + 1}.png`, '')] : [])),
      )
      run$.clear()
      await nextTick()
      await imagePicker.value?.takeAll(files)
    } catch (err) {
      run$.error.value = `The originals could not be picked again: ${(err as Error).message}`
    }
  }

  /** Open a past run on the stage, at its address (/run/<id>), with its form restored. */
  function reopen(id: string) {
    run$.clear(null)
    run$.follow(id, restoreForm)
  }

  return {
    operationName,
    options,
    imagePicker,
    spec,
    checkPick,
    uploads,
    run$,
    pastRuns,
    loadPastRuns,
    estimate,
    restoreForm,
    pickFromLink,
    rerun,
    reopen,
  }
}

export type Analyse = ReturnType<typeof useAnalyse>
