// The operations and their options. The facts (names, types, ranges, choices, defaults, units, input
// limits) come from the server's GET /operations, which reads the one schema the API, ValidateInput and
// the jobs check with (aiorch/operations.py). Only display words (labels) are kept here.
import { reactive } from 'vue'
import type { components } from './api-types'

export type OptionValue = string | number | boolean

type Schemas = components['schemas']

/** One option as GET /operations serves it (types generated from the OpenAPI document: api-types.ts). */
export type ServedOption = Omit<Schemas['OptionSpec'], 'default'> & {
  default: OptionValue | null // null: the job decides (see the description)
}

export type ServedOperation = Omit<Schemas['OperationOut'], 'options'> & { options: ServedOption[] }

/** A choice that needs a model's weights, and whether they are installed where the jobs run. */
export type ServedModel = Schemas['ModelOut']

export interface OperationSpec {
  name: ServedOperation['name']
  label: string
  description: string
  acceptsMask: boolean
  input: ServedOperation['input'] | null // null until the schema is loaded
  options: ServedOption[]
  // Set: a preview inside that operation's form (detect_text: inpaint's OCR boxes), not an operation tab.
  previewFor: ServedOperation['preview_for']
  // The choices that need a model, each marked installed or not (empty until the schema is loaded).
  models: ServedModel[]
}

// The operation tabs' words; a preview (served with preview_for) has its button in its operation's form.
const WORDS: Partial<Record<ServedOperation['name'], { label: string; description: string }>> = {
  upscale: { label: 'Upscale', description: 'Real-ESRGAN makes the image four times larger and sharper.' },
  denoise: {
    label: 'Denoise',
    description: 'DeepInverse removes noise; without DRUNet weights it uses a classical denoiser and says so.',
  },
  inpaint: {
    label: 'Remove text',
    description: 'Finds text with OCR and fills it in; paint over anything else you want removed.',
  },
}

const OPTION_LABELS: Record<string, string> = {
  model: 'Model',
  outscale: 'Final scale',
  tile: 'Tile size',
  tile_overlap: 'Tile overlap',
  batch: 'Tiles per pass',
  precision: 'Precision',
  format: 'Output format',
  quality: 'Quality',
  method: 'Method',
  sigma: 'Noise level',
  use_ocr: 'Find text with OCR',
  min_score: 'Minimum OCR confidence',
  dilate_px: 'Grow text mask by',
  context_px: 'Context around each region',
  radius: 'Telea radius',
  max_side: 'LaMa crop size',
}

const CHOICE_LABELS: Record<string, string> = {
  'realesrgan-x4plus': 'Photos (Real-ESRGAN x4plus)',
  'realesrgan-x4plus-anime': 'Drawings and anime (x4plus anime)',
  'realesr-animevideov3': 'Fast, small model (animevideo v3)',
  png: 'PNG (lossless)',
  jpeg: 'JPEG',
  jpg: 'JPEG (.jpg)',
  webp: 'WebP',
  auto: 'Best available',
  bm3d: 'BM3D (classical)',
  tv: 'Total variation (classical)',
  wavelet: 'Wavelet (classical)',
  drunet: 'DRUNet (needs weights)',
  lama: 'LaMa (needs weights)',
  telea: 'OpenCV Telea (classical)',
}

export function optionLabel(option: ServedOption): string {
  const label = OPTION_LABELS[option.name] ?? option.name
  return option.unit ? `${label} (${option.unit})` : label
}

export function choiceLabel(value: string): string {
  return CHOICE_LABELS[value] ?? value
}

/** A number as the server's messages write it (aiorch/operations.py `_plain`): 16, not 16.0. */
function plain(value: number | null | undefined): string {
  return value === null || value === undefined ? 'any' : String(value)
}

/**
 * The allowed values in the server's words (aiorch/operations.py `OptionSpec.allowed`), so the hint,
 * the browser's refusal and the API's 400 all say the same thing.
 */
export function allowedWords(option: ServedOption): string {
  if (option.type === 'choice') return 'one of ' + (option.choices ?? []).join(', ')
  if (option.type === 'boolean') return 'true or false'
  if (option.type === 'string') return option.pattern ? `text matching ${option.pattern}` : 'text'
  const kind = option.type === 'integer' ? 'a whole number' : 'a number'
  const unit = option.unit ? ` ${option.unit}` : ''
  if (option.exclusive_minimum) {
    return `${kind} greater than ${plain(option.minimum)} and at most ${plain(option.maximum)}${unit}`
  }
  return `${kind} from ${plain(option.minimum)} to ${plain(option.maximum)}${unit}`
}

/** A value as Python's repr writes it in the server's message (`not 100`, `not 'x'`, `not True`). */
function pythonRepr(value: OptionValue): string {
  if (typeof value === 'boolean') return value ? 'True' : 'False'
  if (typeof value === 'string') return `'${value}'`
  return String(value)
}

/**
 * Why the value is refused, in the words the API's 400 uses (OptionSpec.check), or null when it is
 * allowed; null and '' mean "the default" and are always allowed.
 */
export function optionProblem(option: ServedOption, value: OptionValue | null | ''): string | null {
  if (value === null || value === '') return null
  let ok = false
  if (option.type === 'boolean') ok = typeof value === 'boolean'
  else if (option.type === 'choice') ok = typeof value === 'string' && (option.choices ?? []).includes(value.toLowerCase())
  else if (option.type === 'string') {
    ok = typeof value === 'string' && value !== '' && (!option.pattern || new RegExp(`^(?:${option.pattern})$`).test(value))
  } else if (typeof value === 'number' && Number.isFinite(value)) {
    const low = option.minimum
    const high = option.maximum
    const inRange =
      (low === null || low === undefined || (option.exclusive_minimum ? value > low : value >= low)) &&
      (high === null || high === undefined || value <= high)
    ok = (option.type === 'number' || Number.isInteger(value)) && inRange
  }
  return ok ? null : `option '${option.name}' must be ${allowedWords(option)}, not ${pythonRepr(value)}`
}

/** The choices of an option that are known not to be installed where the jobs run (installed false). */
export function missingModels(spec: OperationSpec, optionName: string): ServedModel[] {
  const choices = spec.options.find((o) => o.name === optionName)?.choices ?? []
  return spec.models.filter((m) => m.option === optionName && m.installed === false && choices.includes(m.choice))
}

/**
 * Why the value chosen cannot run here: its model is not installed (the API refuses it too, with 422), with
 * the command that installs it; null when it is installed or not known to be missing.
 */
export function missingModelProblem(spec: OperationSpec, option: ServedOption, value: OptionValue | null | ''): string | null {
  const chosen = String(value === null || value === '' ? (option.default ?? '') : value).toLowerCase()
  const model = missingModels(spec, option.name).find((m) => m.choice === chosen)
  if (!model) return null
  const how = model.install ? `; an operator installs it with \`${model.install}\`` : ''
  return `${option.name} ${model.choice} needs the model ${model.name}, which is not installed where the jobs run${how}`
}

/** Every refused option of a request, by name (empty: all allowed). */
export function optionProblems(spec: OperationSpec, values: Record<string, OptionValue | null | ''>): Record<string, string> {
  const problems: Record<string, string> = {}
  for (const option of spec.options) {
    const value = values[option.name] ?? null
    const problem = optionProblem(option, value) ?? missingModelProblem(spec, option, value)
    if (problem) problems[option.name] = problem
  }
  return problems
}

// Reactive, so forms drawn before the schema arrives are redrawn when it does.

export const OPERATIONS: OperationSpec[] = reactive(
  (Object.keys(WORDS) as ServedOperation['name'][]).map((name) => ({
    name,
    label: WORDS[name]?.label ?? name,
    description: WORDS[name]?.description ?? '',
    acceptsMask: name === 'inpaint',
    input: null,
    options: [],
    previewFor: null,
    models: [],
  })),
)

/** The served previews (detect_text), each offered inside the form of the operation it previews. */
export const PREVIEWS: OperationSpec[] = reactive([])

/** Take the served schema: each operation's options and limits replace the placeholders. An operation
 * served with preview_for is not a tab of its own: it goes to PREVIEWS. */
export function useServedOperations(served: ServedOperation[]): void {
  const specs: OperationSpec[] = served.map((op) => ({
    name: op.name,
    label: WORDS[op.name]?.label ?? op.name,
    description: WORDS[op.name]?.description ?? '',
    acceptsMask: op.accepts_mask,
    input: op.input,
    options: op.options.filter((o) => o.type !== 'string'),
    previewFor: op.preview_for ?? null,
    models: op.models ?? [],
  }))
  OPERATIONS.splice(0, OPERATIONS.length, ...specs.filter((s) => !s.previewFor))
  PREVIEWS.splice(0, PREVIEWS.length, ...specs.filter((s) => s.previewFor))
}

/** The operation whose form a run of `name` belongs to: a preview's (detect_text: inpaint), else its own. */
export function formFor(name: string): string {
  return PREVIEWS.find((p) => p.name === name)?.previewFor ?? name
}

/** The preview served for an operation (inpaint: detect_text), or null. */
export function previewOf(name: string): OperationSpec | null {
  return PREVIEWS.find((p) => p.previewFor === name) ?? null
}

/** GET /operations through the client, then use it; a failure leaves the placeholders (no options offered). */
export async function loadOperations(api: { operations(): Promise<ServedOperation[]> }): Promise<void> {
  useServedOperations(await api.operations())
}

export function operation(name: string): OperationSpec {
  const found = OPERATIONS.find((o) => o.name === name)
  if (!found) throw new Error(`unknown operation ${name}`)
  return found
}

export function defaultOptions(spec: OperationSpec): Record<string, OptionValue | null> {
  return Object.fromEntries(spec.options.map((o) => [o.name, o.default]))
}

/** The options to send: empty values are left out, so the job picks its own default. */
export function requestOptions(values: Record<string, OptionValue | null | ''>): Record<string, OptionValue> {
  const out: Record<string, OptionValue> = {}
  for (const [name, value] of Object.entries(values)) {
    if (value === null || value === '' || (typeof value === 'number' && Number.isNaN(value))) continue
    out[name] = value
  }
  return out
}

// The few plain choices shown beside the photo, per operation (display only, like the labels above);
// every other served option is under "Advanced". An operation not named here shows all its options plainly.
const PLAIN_OPTIONS: Partial<Record<ServedOperation['name'], string[]>> = {
  upscale: ['model', 'outscale', 'format', 'quality'],
  denoise: ['method', 'sigma', 'format', 'quality'],
  inpaint: ['use_ocr', 'method', 'format', 'quality'],
}

/** Whether an option of this operation is an expert setting, under "Advanced". */
export function isAdvanced(operationName: string, option: ServedOption): boolean {
  const plain = PLAIN_OPTIONS[operationName as ServedOperation['name']]
  return plain !== undefined && !plain.includes(option.name)
}

// The same output format under two names (ALIASES: the served choices jpeg and jpg are one format).
const ALIASES: Record<string, string> = { jpg: 'jpeg' }

/**
 * Whether an option matters with the other values chosen, from its served `applies_to` when that names
 * another option and its values ("format jpeg or webp", "use_ocr true", "method telea"): JPEG quality
 * only for a JPEG or WebP result. A value of 'auto' may become any of them, so it keeps the option.
 */
export function optionApplies(option: ServedOption, spec: OperationSpec, values: Record<string, OptionValue | null>): boolean {
  const found = option.applies_to?.match(/^(\w+) (.+)$/)
  if (!found) return true
  const other = spec.options.find((o) => o.name === found[1])
  if (!other) return true // "realesrgan-x4plus-pth": a model's name, not an option
  const wanted = found[2].split(' or ').map((w) => w.trim().toLowerCase())
  const raw = values[other.name] ?? other.default
  if (raw === null || raw === undefined) return true
  const value = String(raw).toLowerCase()
  return value === 'auto' || wanted.includes(ALIASES[value] ?? value)
}
