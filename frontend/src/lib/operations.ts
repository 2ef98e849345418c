// The operations and their options, as data: the form is drawn from this table.
// Option names are those ValidateInput accepts (lambdas/validate_input/validation.py).

export type OptionValue = string | number

export interface ChoiceOption {
  kind: 'choice'
  name: string
  label: string
  choices: { value: string; label: string }[]
  default: string
}

export interface NumberOption {
  kind: 'number'
  name: string
  label: string
  min: number
  max: number
  step: number
  default: number | null // null: leave it to the job (e.g. estimate the noise level)
  hint?: string
}

export type OptionSpec = ChoiceOption | NumberOption

export interface OperationSpec {
  name: 'upscale' | 'denoise' | 'inpaint'
  label: string
  description: string
  options: OptionSpec[]
  acceptsMask: boolean
}

const outputFormat: ChoiceOption = {
  kind: 'choice',
  name: 'format',
  label: 'Output format',
  choices: [
    { value: 'png', label: 'PNG (lossless)' },
    { value: 'jpeg', label: 'JPEG' },
    { value: 'webp', label: 'WebP' },
  ],
  default: 'png',
}

export const OPERATIONS: OperationSpec[] = [
  {
    name: 'upscale',
    label: 'Upscale',
    description: 'Real-ESRGAN makes the image four times larger and sharper.',
    acceptsMask: false,
    options: [
      {
        kind: 'choice',
        name: 'model',
        label: 'Model',
        choices: [
          { value: 'realesrgan-x4plus', label: 'Photos (Real-ESRGAN x4plus)' },
          { value: 'realesrgan-x4plus-anime', label: 'Drawings and anime (x4plus anime)' },
          { value: 'realesr-animevideov3', label: 'Fast, small model (animevideo v3)' },
        ],
        default: 'realesrgan-x4plus',
      },
      { kind: 'number', name: 'outscale', label: 'Final scale', min: 1, max: 4, step: 0.5, default: 4 },
      outputFormat,
    ],
  },
  {
    name: 'denoise',
    label: 'Denoise',
    description: 'DeepInverse removes noise; without DRUNet weights it uses a classical denoiser and says so.',
    acceptsMask: false,
    options: [
      {
        kind: 'choice',
        name: 'method',
        label: 'Method',
        choices: [
          { value: 'auto', label: 'Best available' },
          { value: 'bm3d', label: 'BM3D (classical)' },
          { value: 'tv', label: 'Total variation (classical)' },
          { value: 'wavelet', label: 'Wavelet (classical)' },
          { value: 'drunet', label: 'DRUNet (needs weights)' },
        ],
        default: 'auto',
      },
      {
        kind: 'number',
        name: 'sigma',
        label: 'Noise level (0–255)',
        min: 0,
        max: 255,
        step: 1,
        default: null,
        hint: 'Leave empty to estimate it from the image.',
      },
      outputFormat,
    ],
  },
  {
    name: 'inpaint',
    label: 'Remove text',
    description: 'Finds text with OCR and fills it in; paint over anything else you want removed.',
    acceptsMask: true,
    // Both jobs (detect-text, inpaint) receive these options, so only what both accept is offered.
    options: [outputFormat],
  },
]

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
