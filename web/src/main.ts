import { createApp } from 'vue';
import App from './App.vue';
import { createSluiceApi, SluiceApiKey } from './api/sluiceApi';
import { createSessionStore, SessionKey } from './composables/useSession';
import { createAppRouter } from './router';
import './styles/main.css';

// The dashboard starts here: one API object and one session store, provided to every component.
const api = createSluiceApi();
const session = createSessionStore(api);
const app = createApp(App);
app.provide(SluiceApiKey, api);
app.provide(SessionKey, session);
app.use(createAppRouter(session));
app.mount('#app');
