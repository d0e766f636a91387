// The safety page (safety.html): its "Leave quickly" and Esc three times, like every page of the app.
// It holds no key, so there is nothing to forget or lock.
import { installSafety } from './lib/safety.js';

installSafety();
