/// <reference types="vitest/config" />
import { defineConfig } from 'vite'
import vue from '@vitejs/plugin-vue'

// `npm run dev` proxies the API to a local `aiorch serve` on port 8000.
const api = 'http://127.0.0.1:8000'
const apiPaths = ['/authorize', '/uploads', '/local-uploads', '/downloads', '/image-ai-analysis', '/healthz']

export default defineConfig({
  plugins: [vue()],
  server: { proxy: Object.fromEntries(apiPaths.map((p) => [p, api])) },
  test: { environment: 'jsdom', include: ['tests/**/*.test.ts'] },
})
