import { createApp } from 'vue'
import App from './App.vue'
import { ApiClient } from './lib/api'
import { loadConfig } from './lib/config'
import { createAppRouter } from './router'
import './style.css'

void loadConfig().then(({ apiBaseUrl }) =>
  createApp(App, { api: new ApiClient(apiBaseUrl) }).use(createAppRouter()).mount('#app'),
)
