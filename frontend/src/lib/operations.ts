// The operations and their options. The facts (names, types, ranges, choices, defaults, units, input
// limits) and the words people read (labels, descriptions, choice labels) come from the server's
// GET /operations, which reads the one registry of operations the API, ValidateInput and the jobs check
// with (aiorch/operations.py). Nothing here is per operation: a new operation served is offered as it is.
import { reactive } from 'vue'
import type { components } from './api-types'

export type OptionValue = string | number | boolean

type Schemas = components['schemas']

// The words and facts a server from before them does not serve: each may be missing, and the app falls
// back to the names (an operation's label is its name, a choice's label its value).
type NewerOperationFields = 'label' | 'description' | 'result_job' | 'model_option' | 'ai_model' | 'summary_options'
type NewerOptionFields = 'label' | 'choice_labels'

/** One option as GET /operations serves it (types generated from the OpenAPI document: api-types.ts). */
export type ServedOption = Omit<Schemas['OptionSpec'], 'default' | NewerOptionFields> &
  Partial<Pick<Schemas['OptionSpec'], NewerOptionFields>> & {
    default: OptionValue | null // null: the job decides (see the description)
  }

export type ServedOperation = Omit<Schemas['OperationOut'], 'options' | NewerOperationFields> &
  Partial<Pick<Schemas['OperationOut'], NewerOperationFields>> & { options: ServedOption[] }

/** A choice that needs a model's weights, and whether they are installed where the jobs run. */
export type ServedModel = Schemas['ModelOut']

export interface OperationSpec {
  name: string
  label: string
  description: string
  acceptsMask: boolean
  input: ServedOperation['input'] | null // null: not served (yet)
  options: ServedOption[]
  // Set: a preview inside that operation's form (detect_text: inpaint's OCR boxes), not an operation tab.
  previewFor: string | null
  // The choices that need a model, each marked installed or not.
  models: ServedModel[]
  // The job whose image is the result; null: not served (the job named like the operation, else the last image).
  resultJob: string | null
  // The option that picks the model or method; null: none, or not served.
  modelOption: string | null
  // The AI model whose weights a classical fallback stands in for; null: none, or not served.
  aiModel: string | null
  // The options a summary of a run names; null: not served (a summary names none).
  summaryOptions: string[] | null
}

export function optionLabel(option: ServedOption): string {
  const label = option.label || option.name
  return option.unit ? `${label} (${option.unit})` : label
}

/** A choice of an option in words, as served; its value where none is served (or the option is unknown). */
export function choiceLabel(option: Pick<ServedOption, 'choice_labels'> | null | undefined, value: string): string {
  return option?.choice_labels?.[value] ?? value
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

// Reactive, so forms drawn before the schema arrives are redrawn when it does. Empty until then: the
// operations offered are the ones served.

export const OPERATIONS: OperationSpec[] = reactive([])

/** The served previews (detect_text), each offered inside the form of the operation it previews. */
export const PREVIEWS: OperationSpec[] = reactive([])

/** An operation with nothing known but its name: what a run of one not served (yet) is shown with. */
function unserved(name: string): OperationSpec {
  return {
    name,
    label: name,
    description: '',
    acceptsMask: false,
    input: null,
    options: [],
    previewFor: null,
    models: [],
    resultJob: null,
    modelOption: null,
    aiModel: null,
    summaryOptions: null,
  }
}

/** The app's view of one served operation; what an older server leaves out falls back to the name. */
export function specOf(op: ServedOperation): OperationSpec {
  return {
    name: op.name,
    label: op.label || op.name,
    description: op.description ?? '',
    acceptsMask: op.accepts_mask,
    input: op.input,
    options: op.options.filter((o) => o.type !== 'string'),
    previewFor: op.preview_for ?? null,
    models: op.models ?? [],
    resultJob: op.result_job ?? null,
    modelOption: op.model_option ?? null,
    aiModel: op.ai_model ?? null,
    summaryOptions: op.summary_options ?? null,
  }
}

/** Take the served schema: its operations become the tabs. An operation served with preview_for is not a
 * tab of its own: it goes to PREVIEWS. */
export function useServedOperations(served: ServedOperation[]): void {
  const specs = served.map(specOf)
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

/** GET /operations through the client, then use it; on a failure no operation is offered. */
export async function loadOperations(api: { operations(): Promise<ServedOperation[]> }): Promise<void> {
  useServedOperations(await api.operations())
}

/** An operation offered in the form (a tab), by name; an unknown one is refused. */
export function operation(name: string): OperationSpec {
  const found = OPERATIONS.find((o) => o.name === name)
  if (!found) throw new Error(`unknown operation ${name}`)
  return found
}

/**
 * What is known of the operation a run names, a preview included: the served operation, or (a run of an
 * operation this server does not serve, or before the schema arrives) its name alone.
 */
export function servedOperation(name: string): OperationSpec {
  return OPERATIONS.find((o) => o.name === name) ?? PREVIEWS.find((p) => p.name === name) ?? unserved(name)
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

// The result file's own options, plain for every operation: what a person picks beside the photo with
// the options a summary of the run names (served summary_options).
const RESULT_FILE_OPTIONS = ['format', 'quality']

/**
 * Whether an option of this operation is an expert setting, under "Advanced": it is neither one a summary
 * names nor the result file's. A server that serves no summary_options shows all options plainly.
 */
export function isAdvanced(spec: OperationSpec, option: ServedOption): boolean {
  if (spec.summaryOptions === null) return false
  return !spec.summaryOptions.includes(option.name) && !RESULT_FILE_OPTIONS.includes(option.name)
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
