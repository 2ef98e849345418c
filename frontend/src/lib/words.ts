// An execution in a person's words: its status, how long it took, the options that matter, what ran and
// the name its result downloads as. Display only: the facts are the server's.
import { choiceLabel, PREVIEWS, servedOperation, type OperationSpec, type OptionValue, type ServedOption } from './operations'

const STATUS_WORDS: Record<string, string> = {
  RUNNING: 'Working',
  SUCCEEDED: 'Done',
  FAILED: 'Failed',
  TIMED_OUT: 'Took too long',
  ABORTED: 'Stopped',
  INTERRUPTED: 'Interrupted',
}

export function statusWords(status: string): string {
  return STATUS_WORDS[status] ?? status
}

/** "0.4 s", "12 s", "1 min 5 s", "2 min", "1 h 3 min". */
export function durationWords(seconds: number): string {
  if (seconds < 10) return `${Math.max(seconds, 0).toFixed(1)} s`
  const whole = Math.round(seconds)
  if (whole < 60) return `${whole} s`
  if (whole < 3600) {
    const [m, s] = [Math.floor(whole / 60), whole % 60]
    return s ? `${m} min ${s} s` : `${m} min`
  }
  const [h, m] = [Math.floor(whole / 3600), Math.round((whole % 3600) / 60)]
  return m ? `${h} h ${m} min` : `${h} h`
}

// The words for a few options' values (the rest: a choice's served label, or the option's name and value).
function optionWords(option: ServedOption | undefined, name: string, value: OptionValue): string {
  if (name === 'outscale') return `×${value}`
  if (name === 'sigma') return `noise level ${value}`
  if (name === 'use_ocr') return value ? 'text found by OCR' : 'mask as drawn'
  return typeof value === 'string' ? choiceLabel(option, value) : `${name} ${String(value)}`
}

/**
 * "Fast, small model (animevideo v3) · ×2": the options the operation's summary names (served
 * summary_options), as chosen; '' when all were defaults, or the server names none.
 */
export function optionsThatMatter(spec: OperationSpec, options: Record<string, unknown>): string {
  return (spec.summaryOptions ?? [])
    .flatMap((name) => {
      const value = options[name]
      const option = spec.options.find((o) => o.name === name)
      return typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean' ? [optionWords(option, name, value)] : []
    })
    .join(' · ')
}

/** Every option as it was sent (name=value), for a tooltip or the details. */
export function allOptions(options: Record<string, unknown>): string {
  const entries = Object.entries(options ?? {})
  return entries.length ? entries.map(([k, v]) => `${k}=${typeof v === 'object' ? JSON.stringify(v) : String(v)}`).join(', ') : 'defaults'
}

/** The operation's served label; its name when not served. */
export function operationWords(name: string): string {
  return servedOperation(name).label
}

/** A preview run inside another operation's form (served with preview_for): not a run of its own to list. */
export function isPreview(name: string): boolean {
  return PREVIEWS.some((p) => p.name === name)
}

// Models and the classical methods standing in for them, by the names the jobs write in their metadata.
const MODEL_WORDS: Record<string, string> = {
  'realesrgan-x4plus': 'Real-ESRGAN x4plus',
  'realesrgan-x4plus-anime': 'Real-ESRGAN x4plus anime',
  'realesr-animevideov3': 'Real-ESRGAN animevideo v3',
  drunet: 'DRUNet',
  lama: 'LaMa',
  bm3d: 'BM3D',
  tv: 'Total variation',
  wavelet: 'Wavelet',
  telea: 'OpenCV Telea fill',
  'opencv-telea': 'OpenCV Telea fill',
  'opencv-fsr-fast': 'OpenCV FSR fill',
  'opencv-fsr': 'OpenCV FSR fill',
}

export function modelWords(name: string): string {
  return MODEL_WORDS[name] ?? name
}

/** "the CPU", "the GPU (NVIDIA H100 80GB HBM3)" from the job's "cpu" or "cuda:0 (NVIDIA H100 80GB HBM3)". */
export function deviceWords(device: string): string {
  if (device === 'cpu') return 'the CPU'
  const gpu = device.match(/^cuda(?::\d+)?(?: \((.*)\))?$/)
  if (gpu) return gpu[1] ? `the GPU (${gpu[1]})` : 'the GPU'
  if (device === 'mps') return 'the Apple GPU'
  return device
}

/** The short name of a model for a file name: "x4plus", "animevideov3", "tv", "lama". */
function modelTag(name: string): string {
  return name.replace(/^realesrgan-|^realesr-|^opencv-/, '').replace(/[^A-Za-z0-9]+/g, '-')
}

/**
 * What a result downloads as: the original's name, the operation, the model and (where the job or the
 * options give one) the scale: "cat-upscale-x4plus-x4.png" ("upscale-x4plus-x4.png" with no original
 * name). The extension is the result's own.
 */
export function downloadFileName(
  original: string | null,
  operationName: string,
  metadata: Record<string, unknown> | undefined,
  options: Record<string, unknown>,
  resultName: string,
): string {
  const ext = resultName.includes('.') ? resultName.split('.').pop()! : 'png'
  const stem = (original ?? '').replace(/\.[^.]+$/, '').replace(/[\\/:*?"<>|]+/g, '_') // none known: no stem
  const text = (v: unknown) => (typeof v === 'string' ? v : '')
  const weights = text(metadata?.weights)
  // A classical stand-in is named by its weights ("fallback: tv"); a model by its name.
  const model = weights.startsWith('fallback: ')
    ? weights.slice('fallback: '.length)
    : text(metadata?.model) || text(options.model) || text(options.method)
  const parts = [stem, operationName, model ? modelTag(model) : '']
  const scale = metadata?.outscale ?? options.outscale
  if (typeof scale === 'number') parts.push(`x${scale}`)
  return `${parts.filter(Boolean).join('-')}.${ext}`
}
