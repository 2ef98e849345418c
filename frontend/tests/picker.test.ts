import { flushPromises, mount } from '@vue/test-utils'
import { describe, expect, it, vi } from 'vitest'
import ImagePicker from '../src/components/ImagePicker.vue'

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
    const bytes = new Uint8Array(33)
    bytes.set([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13, 0x49, 0x48, 0x44, 0x52])
    new DataView(bytes.buffer).setUint32(16, 640)
    new DataView(bytes.buffer).setUint32(20, 480)
    const picker = await pick(new File([bytes], 'wide.png', { type: '' }))
    const picked = picker.emitted('picked')![0][0] as { header: unknown }
    expect(picked.header).toEqual({ format: 'PNG', width: 640, height: 480 })
  })
})
