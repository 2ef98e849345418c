import { flushPromises, mount } from '@vue/test-utils'
import { describe, expect, it, vi } from 'vitest'
import ImagePicker from '../src/components/ImagePicker.vue'
import { pngHeader } from './fakes'

async function pick(file: File) {
  const picker = mount(ImagePicker)
  const input = picker.get('[data-testid="file-input"]')
  Object.defineProperty(input.element, 'files', { value: [file] })
  await input.trigger('change')
  await flushPromises()
  return picker
}

describe('ImagePicker checks before upload', () => {
  it('refuses a text file named .png by its bytes, in the server’s words', async () => {
    const picker = await pick(new File(['just some notes'], 'photo.png', { type: 'image/png' }))
    expect(picker.emitted('refused')?.[0][0]).toBe('photo.png is not an image (accepted: PNG, JPEG, WebP, TIFF, BMP)')
    expect(picker.emitted('picked')).toBeUndefined()
  })

  it('passes the header it measured with the pick', async () => {
    URL.createObjectURL = vi.fn(() => 'blob:p')
    URL.revokeObjectURL = vi.fn()
    const picker = await pick(new File([pngHeader(640, 480)], 'wide.png', { type: '' }))
    const picked = picker.emitted('picked')![0][0] as { header: unknown }
    expect(picked.header).toEqual({ format: 'PNG', width: 640, height: 480 })
  })
})
