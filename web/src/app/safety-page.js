// The safety page (safety.html): its "Leave quickly" and Esc three times, like every page of the app,
// and the language picker; the page's words are all in the markup (data-i18n), which setLanguage()
// translates in place. It holds no key, so there is nothing to forget or lock.
import { applyTranslations, mountLanguagePicker } from './lib/i18n.js';
import { installSafety } from './lib/safety.js';

applyTranslations();
mountLanguagePicker(document.getElementById('language-slot'));
installSafety();
