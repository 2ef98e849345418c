// Checks before upload: the served limits, in the server's words (lambdas/validate_input/validation.py
// for images, aiorch/operations.py OptionSpec.check for options; tests/e2e compares them with the API's).
import { flushPromises, mount } from '@vue/test-utils'
import { beforeEach, describe, expect, it, vi } from 'vitest'
import { createAppRouter } from '../src/router'
import App from '../src/App.vue'
import ImagePicker from '../src/components/ImagePicker.vue'
import { ApiClient } from '../src/lib/api'
import { readHeader } from '../src/lib/imageheader'
import { operation, optionProblem, optionProblems, useServedOperations, type ServedOperation } from '../src/lib/operations'
import { imageProblem, sizeInWords } from '../src/lib/precheck'
import { json, pngHeader, scriptedFetch } from './fakes'
import served from './served-operations.json'


const limits = { min_side_px: 16, max_bytes: 50_000_000, max_pixels: 4_000_000, content_types: ['image/png'] }

describe('imageProblem', () => {
  it('refuses a 60000×60000 PNG from its header, with the numbers, as ValidateInput words it', () => {
    const header = readHeader(pngHeader(60000, 60000))!
    expect(imageProblem(header, 33, limits)).toBe(
      'the input image is 60000×60000 = 3600.0 megapixels; the limit for this operation is 4 megapixels',
    )
  })

  it('refuses an image below the minimum side, and a file over the byte limit', () => {
    expect(imageProblem(readHeader(pngHeader(8, 300))!, 33, limits)).toBe(
      'the input image is 8×300; each side must be at least 16 pixels',
    )
    expect(imageProblem(readHeader(pngHeader(100, 100))!, 60_000_000, limits)).toBe(
      'the input image is 60 MB; the limit is 50 MB',
    )
  })

  it('passes an image within every limit, and leaves an unmeasured one (TIFF) to the server', () => {
    expect(imageProblem(readHeader(pngHeader(2000, 2000))!, 33, limits)).toBeNull()
    expect(imageProblem({ format: 'TIFF', width: null, height: null }, 33, limits)).toBeNull()
    expect(imageProblem(readHeader(pngHeader(60000, 60000))!, 33, null)).toBeNull() // no schema yet
  })

  it('writes byte counts as the server does (size_in_words)', () => {
    expect([sizeInWords(100), sizeInWords(52_428_800), sizeInWords(1500)]).toEqual(['100 bytes', '52.4 MB', '1.5 kB'])
  })
})

describe('optionProblem', () => {
  beforeEach(() => useServedOperations(served as ServedOperation[]))
  const option = (op: string, name: string) => operation(op).options.find((o) => o.name === name)!

  it("says what the API's 400 says for a value out of range, of the wrong kind, or not a choice", () => {
    expect(optionProblem(option('upscale', 'outscale'), 100)).toBe(
      "option 'outscale' must be a number greater than 0 and at most 16 times the input, not 100",
    )
    expect(optionProblem(option('upscale', 'outscale'), 0)).toMatch(/greater than 0/) // exclusive minimum
    expect(optionProblem(option('upscale', 'quality'), 2.5)).toBe("option 'quality' must be a whole number from 1 to 100, not 2.5")
    expect(optionProblem(option('upscale', 'model'), 'nope')).toMatch(/^option 'model' must be one of realesr-animevideov3, /)
  })

  it('passes allowed values and the default (empty)', () => {
    expect(optionProblem(option('upscale', 'outscale'), 16)).toBeNull()
    expect(optionProblem(option('upscale', 'outscale'), null)).toBeNull()
    expect(optionProblem(option('upscale', 'outscale'), '')).toBeNull()
    expect(optionProblems(operation('inpaint'), { dilate_px: 7, use_ocr: false })).toEqual({})
  })
})

describe('ImagePicker with a check', () => {
  it('refuses before decoding or previewing anything', async () => {
    URL.createObjectURL = vi.fn(() => 'blob:p')
    const picker = mount(ImagePicker, { props: { check: (h) => imageProblem(h, 33, limits) } })
    const input = picker.get('[data-testid="file-input"]')
    Object.defineProperty(input.element, 'files', { value: [new File([pngHeader(60000, 60000)], 'huge.png')] })
    await input.trigger('change')
    await flushPromises()
    expect(picker.emitted('refused')?.[0][0]).toBe(
      'huge.png: the input image is 60000×60000 = 3600.0 megapixels; the limit for this operation is 4 megapixels',
    )
    expect(picker.emitted('picked')).toBeUndefined()
    expect(URL.createObjectURL).not.toHaveBeenCalled()
    expect(picker.find('[data-testid="preview"]').exists()).toBe(false)
  })
})

describe('App refuses before upload', () => {
  function app() {
    const { fetcher, calls } = scriptedFetch([
      (url) => (url === '/authorize' ? json({ access_token: 'T', expires_in: 60, user: 'local' }) : undefined),
    ])
    return { app: mount(App, { global: { plugins: [createAppRouter()] }, props: { api: new ApiClient('', fetcher) } }), calls }
  }
  async function pick(wrapper: ReturnType<typeof app>["app"], bytes: Uint8Array<ArrayBuffer>, name: string) {
    const input = wrapper.get('[data-testid="file-input"]')
    Object.defineProperty(input.element, 'files', { value: [new File([bytes], name, { type: 'image/png' })], configurable: true })
    await input.trigger('change')
    await flushPromises()
  }
  beforeEach(() => {
    URL.createObjectURL = vi.fn(() => 'blob:preview')
    URL.revokeObjectURL = vi.fn()
    window.history.replaceState(null, '', '/')
  })

  it('a file over the pixel limit: the message names the limit, Run stays off, nothing is sent', async () => {
    const { app: page, calls } = app()
    await flushPromises()
    await pick(page, pngHeader(60000, 60000), 'huge.png')
    // Beside the picker, not in the page's banner.
    expect(page.find('[data-testid="error"]').exists()).toBe(false)
    expect(page.get('[data-testid="pick-error"]').text()).toBe(
      'huge.png: the input image is 60000×60000 = 3600.0 megapixels; the limit for this operation is 4 megapixels',
    )
    expect(page.get('[data-testid="run"]').attributes('disabled')).toBeDefined()
    expect(calls.map((c) => c.url)).not.toContain('/uploads')
    // A valid pick clears the old error.
    await pick(page, pngHeader(640, 480), 'fine.png')
    expect(page.find('[data-testid="pick-error"]').exists()).toBe(false)
    expect(page.get('[data-testid="run"]').attributes('disabled')).toBeUndefined()
  })

  it('an image within denoise’s limit becomes too large when the operation turns to upscale', async () => {
    const { app: page } = app()
    await flushPromises()
    await page.get('[data-testid="operation-denoise"]').setValue(true)
    await pick(page, pngHeader(3000, 3000), 'big.png') // 9 MP: denoise allows 40
    expect(page.find('[data-testid="pick-error"]').exists()).toBe(false)
    await page.get('[data-testid="operation-upscale"]').setValue(true)
    expect(page.get('[data-testid="pick-error"]').text()).toBe(
      'big.png: the input image is 3000×3000 = 9.0 megapixels; the limit for this operation is 4 megapixels',
    )
    expect(page.get('[data-testid="run"]').attributes('disabled')).toBeDefined()
  })

  it('an option out of range: its field says why in the server’s words and Run stays off', async () => {
    const { app: page } = app()
    await flushPromises()
    await pick(page, pngHeader(64, 64), 'small.png')
    const outscale = page.get('input[name="outscale"]')
    expect([outscale.attributes('min'), outscale.attributes('max')]).toEqual(['0', '16'])
    await outscale.setValue('100')
    expect(page.get('[data-testid="option-error-outscale"]').text()).toBe(
      "option 'outscale' must be a number greater than 0 and at most 16 times the input, not 100",
    )
    expect(page.get('[data-testid="run"]').attributes('disabled')).toBeDefined()
    await outscale.setValue('2')
    expect(page.find('[data-testid="option-error-outscale"]').exists()).toBe(false)
    expect(page.get('[data-testid="run"]').attributes('disabled')).toBeUndefined()
  })
})
