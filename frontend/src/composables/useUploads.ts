// The images picked for the next run (one, or several for a batch), why a pick was refused, and each
// image's upload: an image is uploaded once, however often it is run.
import { computed, ref, type Ref } from 'vue'
import type { ApiClient } from '../lib/api'
import type { ImageHeader } from '../lib/imageheader'

export type Picked = { image: Blob; name: string; url: string; header: ImageHeader }

/** check: why an image cannot go with the chosen operation (its limits), or null. */
export function useUploads(api: Pick<ApiClient, 'upload'>, check: Ref<(header: ImageHeader, file: Blob) => string | null>) {
  const picked = ref<Picked | null>(null)
  // Two or more images picked at once: a batch, run as one execution (no mask).
  const batchPicks = ref<Picked[]>([])
  // Why the last file was refused, in plain words, shown beside the picker (cleared by the next pick).
  const refusal = ref('')
  const uploadedKeys = new WeakMap<Blob, string>()

  // A picked image can become too large when the operation changes (upscale allows fewer pixels).
  const inputProblem = computed(() => {
    for (const p of picked.value ? [picked.value] : batchPicks.value) {
      const problem = check.value(p.header, p.image)
      if (problem) return `${p.name}: ${problem}`
    }
    return null
  })
  /** What the picker says is wrong: the refused file, or a picked one the operation cannot take. */
  const pickError = computed(() => refusal.value || inputProblem.value || '')
  const hasPick = computed(() => picked.value !== null || batchPicks.value.length > 0)

  function onPicked(p: Picked) {
    picked.value = p
    batchPicks.value = []
    refusal.value = ''
  }

  function onBatch(picks: Picked[]) {
    picked.value = null
    batchPicks.value = picks
    refusal.value = ''
  }

  // A refused file is no longer the one to run.
  function onRefused(message: string) {
    picked.value = null
    batchPicks.value = []
    refusal.value = message
  }

  async function upload(p: Picked): Promise<string> {
    const key = uploadedKeys.get(p.image) ?? (await api.upload(p.image, p.name))
    uploadedKeys.set(p.image, key)
    return key
  }

  return { picked, batchPicks, refusal, inputProblem, pickError, hasPick, onPicked, onBatch, onRefused, upload }
}
